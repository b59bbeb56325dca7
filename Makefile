# The two commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
# Compiled modules are written and read again (scripts/test.sh says why).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test check lint format venv clean bench soak lock

$(VENV)/.installed: pyproject.toml uv.lock
	scripts/bootstrap.sh $(VENV) dev
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/gatewayd run --web --simulate 2

# Every tier in parallel under coverage.py (every process the tests start is measured too);
# fails under 90 % of statements and prints the slowest tests. See docs/testing.md.
test:
	scripts/test.sh

# The fast loop between edits: lint, types, import contracts and the unit tier (no services
# needed), in parallel.
check: venv
	$(VENV)/bin/ruff check gatewayd webui tests bench
	$(VENV)/bin/ruff format --check --quiet gatewayd webui tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/pytest -p no:cacheprovider -q -n 4 tests/unit

# Benchmarks (not part of `make test`): bench/results/*.json and docs/benchmarks.md. Every
# set-up with a target runs 3 times (verdicts are medians of at least 3 runs): about 55 minutes
# on a quiet 2-core machine. BENCH_ARGS=--quick for a short run (bench/results/quick/),
# BENCH_ARGS="--only ingest,scale" for some benchmarks, BENCH_ARGS="--runs 5" for more runs.
bench: venv
	scripts/system-deps.sh --bench
	scripts/bootstrap.sh $(VENV) dev bench
	$(PY) bench/run_all.py $(BENCH_ARGS)

# Soak (not part of `make test`): 16 modems and 100 API clients for DURATION seconds (default
# 30 minutes), then a JSON verdict; see docs/reliability.md. `make soak DURATION=300`.
DURATION ?= 1800
soak: venv
	scripts/services.sh
	$(PY) -m tests.soak.run_soak --seconds $(DURATION)

lint: venv
	$(VENV)/bin/ruff check gatewayd webui tests bench
	$(VENV)/bin/ruff format --check --quiet gatewayd webui tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# Refresh uv.lock deliberately after editing pyproject.toml (UPGRADE=1: newest allowed versions).
lock:
	scripts/uv.sh lock --python python3 $(if $(UPGRADE),--upgrade,)

clean:
	rm -rf $(VENV) .uv .mypy_cache .pytest_cache .ruff_cache

# Format the tree as the test command checks it (ruff format).
format: venv
	$(VENV)/bin/ruff format gatewayd webui tests bench scripts
	$(VENV)/bin/ruff check --fix gatewayd webui tests bench
