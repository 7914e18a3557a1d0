#!/usr/bin/env bash
# The README's second command: install everything the tests need, then run the whole suite and the eval gate.
# Works on a clean Debian machine (as root or with sudo); .ci/run calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1; then
  echo "== installing Debian's chromium for the browser tests"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi

echo "== installing the project with its test extras"
python -m pip install -q -e ".[test]"

echo "== ruff"
python -m ruff check .

echo "== pytest"
python -m pytest -q "$@"
