#!/usr/bin/env bash
# The whole test suite: installs what it needs, starts the services it needs, then runs ruff,
# mypy and the import contracts (lint-imports) beside pytest over every tier in parallel
# (pytest-xdist, TEST_WORKERS processes, default 4) under coverage.py (pytest, its workers and
# every process the tests start), printing the slowest tests, then the coverage report: the
# whole suite fails under 90 % of statements (pyproject's fail_under). Extra arguments go to
# pytest; such a partial run reports coverage without enforcing the floor. COVERAGE=0 runs
# pytest without coverage; TEST_WORKERS=0 in one process. Each phase prints when it began
# (seconds since the start).
set -euo pipefail
cd "$(dirname "$0")/.."
# Compiled modules are kept (the project's, and pytest's rewritten test modules): with
# PYTHONDONTWRITEBYTECODE set, each of the suite's ~300 Python processes compiled every module
# it imported from source, and every pytest worker rewrote every test module.
unset PYTHONDONTWRITEBYTECODE
venv=${VENV:-.venv}

echo "== system packages and services"
scripts/system-deps.sh
scripts/services.sh
echo "== lock (at ${SECONDS} s)"
# Fails loudly when pyproject.toml and uv.lock disagree (refresh deliberately: make lock).
if ! scripts/uv.sh lock --check --python "${PYTHON:-python3}"; then
    echo "uv.lock does not match pyproject.toml: run 'make lock' and commit both" >&2
    exit 1
fi
scripts/bootstrap.sh "$venv" dev
# The project's modules compiled once, before a dozen processes would each compile them.
"$venv/bin/python" -m compileall -q -j 0 gatewayd webui tests bench >/dev/null

# The static checks run beside pytest (they need CPU while the tests mostly wait on processes,
# pipes and timers); their output is printed after the tests', and either failing fails the run.
static_log=$(mktemp)
trap 'rm -f "$static_log"' EXIT
(
    set -e
    echo "== ruff"
    "$venv/bin/ruff" check gatewayd webui tests bench
    "$venv/bin/ruff" format --check --quiet gatewayd webui tests bench scripts
    echo "== mypy"
    "$venv/bin/mypy"
    echo "== import contracts"
    # pyproject's [tool.importlinter]: layers import downwards only, no cycles.
    "$venv/bin/lint-imports"
    echo "== static checks done (at ${SECONDS} s)"
) >"$static_log" 2>&1 &
static_pid=$!
static_status() {
    local code=0
    wait "$static_pid" || code=$?
    cat "$static_log"
    [ "$code" -eq 0 ] || echo "static checks failed (exit $code)" >&2
    return "$code"
}
pytest_args=(-p no:cacheprovider --durations=25)
workers=${TEST_WORKERS:-4}
if [ "$workers" != 0 ]; then
    # loadgroup: the tests of an xdist_group share one worker (tests/support/tiers.py)
    pytest_args+=(-n "$workers" --dist loadgroup)
fi
status=0
if [ "${COVERAGE:-1}" = 0 ]; then
    echo "== pytest (at ${SECONDS} s)"
    "$venv/bin/pytest" "${pytest_args[@]}" "$@" || status=$?
else
    echo "== pytest under coverage (at ${SECONDS} s)"
    rm -f .coverage .coverage.*
    "$venv/bin/coverage" run -m pytest "${pytest_args[@]}" "$@" || status=$?
    "$venv/bin/coverage" combine --quiet
    echo "== coverage (at ${SECONDS} s)"
    floor=()
    [ $# -eq 0 ] || floor=(--fail-under=0)
    if ! "$venv/bin/coverage" report "${floor[@]}"; then
        [ "$status" -ne 0 ] || status=2
    fi
fi
static_status || status=$?
echo "== done (at ${SECONDS} s, exit $status)"
exit "$status"
