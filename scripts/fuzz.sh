#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and fuzzes each decode path (the sharded
# checkpoint reader's on directories packed into one input: tests/fuzz/sharded_harness.h) and the
# CLI's commands, starting from the seed corpus and the kept regressions. Fails on any finding (a
# crash, a broken cross-check, a decode over its memory or time bound: tests/fuzz/README.md),
# after minimizing the input and printing it (base64, complete) as a reproducer for
# tests/fuzz/regressions/. Prints, per target, the worst memory per file byte and CPU time per
# MB any input took (the harness's "wick fuzz bounds:" lines).
#   scripts/fuzz.sh [seconds-per-target] [build-dir]      (defaults: 60, build-fuzz)
# WICK_FUZZ_TARGETS="fuzz_sharded ..." runs only those targets.
# Exploring (the default) uses a random seed and keeps the corpus between runs. With
# WICK_FUZZ_SEED=<n> and WICK_FUZZ_RUNS=<n> each target starts from a fresh corpus and runs a
# fixed mutation sequence, capped by the seconds: CI uses this, so a run that passed on one
# machine passes on another (a slower one only stops earlier in the same sequence).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=${2:-build-fuzz}
targets=(fuzz_load_stream fuzz_load_path fuzz_mmap_open fuzz_load_by_name fuzz_sharded fuzz_cli)
[[ -n "${WICK_FUZZ_TARGETS:-}" ]] && read -r -a targets <<<"$WICK_FUZZ_TARGETS"
# The largest input: tests/fuzz/make_corpus.cpp's kMaxSeedBytes, so the hostile seeds are read
# whole, and large enough that an input amplified quadratically crosses the memory bound.
max_len=65536

bash scripts/deps.sh --fuzz
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "${launcher[@]}" -DWICK_SANITIZE=address,undefined -DWICK_BUILD_FUZZERS=ON \
  -DWICK_BUILD_TESTS=OFF -DWICK_BUILD_BENCH=OFF -DWICK_BUILD_EXAMPLES=OFF -DWICK_BUILD_TOOLS=ON \
  -DWICK_INSTALL=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" wick_fuzz_corpus

work=$build/fuzz
seeds=$work/seeds
# fuzz_sharded's inputs are checkpoint directories in its container, the others' single files:
# each starts from seeds of its own kind.
sharded_seeds=$work/seeds-sharded
artifacts=$work/artifacts
rm -rf "$seeds" "$sharded_seeds"
mkdir -p "$artifacts"
"$build/tests/fuzz/wick_fuzz_corpus" "$seeds" "$sharded_seeds" tests/conformance/sharded
for f in tests/data/*.wick; do cp "$f" "$seeds/golden_$(basename "$f")"; done
regressions=()
for f in tests/fuzz/regressions/*; do
  if [[ -f "$f" && "$(basename "$f")" != README.md ]]; then
    regressions+=("$f")
    # Also a seed: every kept crash input is a structure some decoder once got wrong.
    case $(basename "$f") in
      fuzz_sharded-*) cp "$f" "$sharded_seeds/regression_$(basename "$f")" ;;
      *) cp "$f" "$seeds/regression_$(basename "$f")" ;;
    esac
  fi
done

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The path targets write each input to a file; keep them on tmpfs and gone after a crash.
scratch_base=${TMPDIR:-/tmp}
[[ -d /dev/shm && -w /dev/shm ]] && scratch_base=/dev/shm
WICK_FUZZ_SCRATCH_DIR=$(mktemp -d "$scratch_base/wick-fuzz.XXXXXX")
export WICK_FUZZ_SCRATCH_DIR
trap 'rm -rf "$WICK_FUZZ_SCRATCH_DIR"' EXIT
bounds=(-max_total_time="$seconds")
[[ -n "${WICK_FUZZ_SEED:-}" ]] && bounds+=(-seed="$WICK_FUZZ_SEED")
[[ -n "${WICK_FUZZ_RUNS:-}" ]] && bounds+=(-runs="$WICK_FUZZ_RUNS")
failed=0
total_runs=0
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/$t
  log=$work/$t.log
  corpus=$work/corpus/$t
  [[ -n "${WICK_FUZZ_SEED:-}" ]] && rm -rf "$corpus"
  mkdir -p "$corpus"
  rm -f "$artifacts/$t-"*
  target_seeds=$seeds
  [[ $t == fuzz_sharded ]] && target_seeds=$sharded_seeds
  status=0
  t0=$SECONDS
  if [[ ${#regressions[@]} -gt 0 ]]; then
    "$bin" "${regressions[@]}" >"$log" 2>&1 || status=$?
  fi
  if [[ $status -eq 0 ]]; then
    # -timeout and -rss_limit_mb stay as a backstop to the harness's own bounds (a decode that
    # blocks without using CPU time; memory outside the heap and wick's mappings).
    "$bin" "$corpus" "$target_seeds" "${bounds[@]}" -dict=tests/fuzz/wick.dict -timeout=10 \
      -rss_limit_mb=2048 -max_len="$max_len" -print_final_stats=1 \
      -artifact_prefix="$artifacts/$t-" >"$log" 2>&1 || status=$?
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  added=$(sed -n 's/^stat::new_units_added: *//p' "$log")
  total_runs=$((total_runs + ${runs:-0}))
  if [[ $status -eq 0 ]]; then
    printf 'fuzz: %-18s clean: %s runs in %ss, %s new inputs, corpus %s files\n' "$t" \
      "${runs:-?}" "$((SECONDS - t0))" "${added:-?}" "$(find "$corpus" -type f | wc -l)"
    # The harness prints one line per bound at exit (tests/fuzz/decode_bounds.h); a clean run
    # without them measured nothing.
    if ! grep -q '^wick fuzz bounds: ' "$log"; then
      echo "fuzz: $t printed no bounds summary; its log ends:"
      tail -n 20 "$log"
      failed=$((failed + 1))
      continue
    fi
    sed -n "s/^wick fuzz bounds: $t: /fuzz:   bounds: /p" "$log"
    continue
  fi
  failed=$((failed + 1))
  echo "fuzz: $t FAILED (exit $status); its log ends:"
  tail -n 60 "$log"
  crash=$(ls -t "$artifacts/$t-"* 2>/dev/null | head -n 1 || true)
  if [[ -z "$crash" && ${#regressions[@]} -gt 0 ]]; then
    echo "fuzz: a kept regression in tests/fuzz/regressions/ fails again (see above)"
    continue
  fi
  minimized=$artifacts/$t-minimized
  "$bin" "$crash" -minimize_crash=1 -max_total_time=60 -timeout=10 -rss_limit_mb=2048 \
    -max_len="$max_len" -exact_artifact_path="$minimized" >"$work/$t.minimize.log" 2>&1 || true
  [[ -s "$minimized" ]] || cp "$crash" "$minimized"
  echo "fuzz: reproducer ($(wc -c <"$minimized") bytes): $minimized"
  echo "fuzz: recreate it with:  base64 -d >$t-repro <<'EOF'"
  base64 "$minimized"
  echo "EOF"
  echo "fuzz: replay with:  $bin $minimized"
  echo "fuzz: once fixed, keep it:  cp $minimized tests/fuzz/regressions/$t-<what-it-broke>"
done
echo "fuzz: ${#targets[@]} targets, $((${#targets[@]} - failed)) clean, $failed with findings;" \
  "$total_runs runs in all (at most ${seconds}s each${WICK_FUZZ_SEED:+, seed $WICK_FUZZ_SEED})"
exit $((failed > 0))
