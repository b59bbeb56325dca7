#!/usr/bin/env bash
# The whole test suite: installs what it needs, starts the services it needs, then runs
# ruff, mypy and pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${VENV:-.venv}

scripts/system-deps.sh
scripts/services.sh
if [ ! -f "$venv/.installed" ] || [ pyproject.toml -nt "$venv/.installed" ]; then
    scripts/bootstrap.sh "$venv"
    touch "$venv/.installed"
fi

echo "== ruff"
"$venv/bin/ruff" check gatewayd webui tests
echo "== mypy"
"$venv/bin/mypy"
echo "== pytest"
"$venv/bin/pytest" -p no:cacheprovider "$@"
