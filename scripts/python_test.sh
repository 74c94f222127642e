#!/usr/bin/env bash
# Runs the tests of python/, the pure-Python implementation of io/FORMAT.md, with Debian's
# python3 and pytest (installed when missing). No build: it reads the golden files in tests/data.
#   scripts/python_test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --python
PYTHONPATH=python /usr/bin/python3 -m pytest -q python/tests "$@"
