#!/usr/bin/env bash
# Runs the tests of python/, the pure-Python implementation of io/FORMAT.md, with Debian's
# python3 and pytest (installed when missing): the golden files in tests/data, hostile files,
# the writer, the Reader, the CLI, the offline venv install, wick.torch, the conformance corpus.
#   scripts/python_test.sh [build-dir] [pytest args...]
# With a build dir holding the C++ tool (build/tools/wick), the tests also check the two
# implementations against each other: Python-written files verified and re-saved byte for byte
# by C++, exit codes of both CLIs. Without one those tests are skipped, unless
# WICK_REQUIRE_PEERS=1 (CI), which makes anything missing a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --python
if [[ $# -gt 0 && -d "$1" ]]; then
  WICK_CLI="$(cd "$1" && pwd)/tools/wick"
  export WICK_CLI
  shift
fi
PYTHONPATH=python /usr/bin/python3 -m pytest -q python/tests "$@"
