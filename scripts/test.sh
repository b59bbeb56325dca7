#!/usr/bin/env bash
# The whole test suite: installs what it needs, starts the services it needs, then runs
# ruff, mypy and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}

scripts/system-deps.sh
scripts/services.sh
echo "== lock"
# Fails loudly when pyproject.toml and uv.lock disagree (refresh deliberately: make lock).
if ! scripts/uv.sh lock --check --python "${PYTHON:-python3}"; then
    echo "uv.lock does not match pyproject.toml: run 'make lock' and commit both" >&2
    exit 1
fi
scripts/bootstrap.sh "$venv" dev

echo "== ruff"
"$venv/bin/ruff" check gatewayd webui tests
echo "== mypy"
"$venv/bin/mypy"
echo "== pytest"
"$venv/bin/pytest" -p no:cacheprovider "$@"
