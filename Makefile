# make test: works on a fresh clone with nothing installed (creates .venv on first use).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test lint typecheck pytest demo bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check otpy wsclient tests bench examples
	$(PY) -m mypy --strict otpy wsclient
	PYTHONASYNCIODEBUG=1 $(PY) -m pytest -q

demo: $(STAMP)
	$(PY) examples/demo.py

bench: $(STAMP)
	$(PY) bench/bench_genserver.py
	$(PY) bench/bench_supervisor.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
