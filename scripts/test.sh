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

# From here on, a failing step is reported and the next steps still run: a pytest failure must not hide
# what the eval gate says (with `set -e` it silently skipped it). The exit status is 1 if any step failed.
set +e
failed=()

echo "== ruff"
python -m ruff check . || failed+=("ruff")

echo "== pytest"
python -m pytest -q "$@" || failed+=("pytest (exit $?)")

# The eval gate: thresholds sit just under what the extractive default measures (README, "Measured"),
# so a regression in retrieval, answers, refusals or citations fails the build.
echo "== rag eval (extractive, eval/gold.jsonl)"
eval_home=$(mktemp -d)
RAG_DATA_DIR="$eval_home" RAG_LLM=extractive python -m rag eval --quiet --out "$eval_home/report" \
  --min-answer 0.91 --min-answer-recall 0.98 --min-refusal 0.89 --min-citation 0.97 --min-citation-precision 0.97 \
  || failed+=("rag eval gate (exit $?)")

if [ ${#failed[@]} -gt 0 ]; then
  echo "== FAILED: $(IFS=', '; echo "${failed[*]}")" >&2
  exit 1
fi
echo "== all passed: ruff, pytest, eval gate"
