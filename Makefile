# The two commands of the README: `make run` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test lint venv clean bench

$(VENV)/.installed: pyproject.toml
	scripts/bootstrap.sh $(VENV)
	touch $@

venv: $(VENV)/.installed

run: venv
	$(VENV)/bin/gatewayd run --web --simulate 2

test:
	scripts/test.sh

# Benchmarks (not part of `make test`): bench/results/*.json and docs/benchmarks.md.
# BENCH_ARGS=--quick for a short run.
bench: venv
	$(VENV)/bin/pip install -q -e '.[bench]'
	$(PY) bench/run_all.py $(BENCH_ARGS)

lint: venv
	$(VENV)/bin/ruff check gatewayd webui tests
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
