#!/usr/bin/env bash
# Installs python/ into a fresh venv offline, as python/README.md says, and uses it from
# outside the tree: `python -m wick info`, the `wick-py` script, and an import.
#   scripts/python_package_test.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The build writes into the source tree (build/, *.egg-info): build from a copy.
cp -r "$root/python" "$work/src"
rm -rf "$work/src/build" "$work/src/"*.egg-info
/usr/bin/python3 -m venv --system-site-packages "$work/venv"
# --no-index: never the network; --no-build-isolation: Debian's setuptools builds it.
"$work/venv/bin/pip" install --quiet --no-index --no-build-isolation \
  --disable-pip-version-check "$work/src"
cd "$work"  # outside the tree: only the installed package can be imported
"$work/venv/bin/python" -m wick info "$root/tests/data/tied.wick"
"$work/venv/bin/wick-py" verify "$root/tests/data/views_2_1.wick"
"$work/venv/bin/python" - "$root/tests/data/tied.wick" <<'PY'
import pathlib, sys
import wick
where = pathlib.Path(wick.__file__).resolve()
assert "site-packages" in where.parts, where
value = wick.load(sys.argv[1])
assert value["encoder.weight"] is value["decoder.weight"]
print(f"import ok: wick {wick.__version__} from {where.parent}")
PY
