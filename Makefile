# make test: works on a fresh clone with nothing installed (creates .venv on first use).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test docs demo bench conformance conformance-full _autobahn clean

# The Autobahn TestSuite kit (outside the project; see its README). PORT: its fuzzingserver.
AUTOBAHN_KIT  ?= $(firstword $(wildcard ../shared/autobahn /work/shared/autobahn))
AUTOBAHN_PORT ?= 9001

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check otpy wsclient tests bench docs/examples tools
	$(PY) -m mypy --strict otpy wsclient
	$(MAKE) --no-print-directory docs
	PYTHONASYNCIODEBUG=1 $(PY) -m pytest -q

# The documentation site (mkdocs, material theme, mkdocstrings) into site/; --strict: a broken
# link, nav entry or API reference fails the build. (NO_MKDOCS_2_WARNING: the theme's banner
# about its end of life, in May 2027, says nothing about this site.)
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet --site-dir site

# The embedded demo: a local feed server and a supervised tree of clients, broken on purpose.
demo: $(STAMP)
	$(VENV)/bin/wsclient demo

# Every benchmark; each writes its figures to $(BENCH_OUT), and bench/report.py turns them into
# docs/topics/benchmarks.md (the table, the machine, the versions, the date).
BENCH_OUT := .bench
bench: $(STAMP)
	rm -rf $(BENCH_OUT) && mkdir -p $(BENCH_OUT)
	BENCH_RESULTS=$(BENCH_OUT) $(PY) bench/bench_genserver.py
	BENCH_RESULTS=$(BENCH_OUT) $(PY) bench/bench_supervisor.py
	BENCH_RESULTS=$(BENCH_OUT) $(PY) bench/bench_ws.py
	BENCH_RESULTS=$(BENCH_OUT) $(PY) bench/bench_scale.py
	$(PY) bench/report.py $(BENCH_OUT) docs/topics/benchmarks.md

# RFC 6455 conformance: the Autobahn fuzzingserver against bench/autobahn_client.py, with
# permessage-deflate offered and not. Fails if any case FAILED in either mode.
conformance: $(STAMP)
	@test -x "$(AUTOBAHN_KIT)/run.sh" || { echo "no Autobahn kit: set AUTOBAHN_KIT=DIR"; exit 2; }
	$(AUTOBAHN_KIT)/setup.sh
	SPEC=quick $(MAKE) --no-print-directory _autobahn

conformance-full: $(STAMP)
	@test -x "$(AUTOBAHN_KIT)/run.sh" || { echo "no Autobahn kit: set AUTOBAHN_KIT=DIR"; exit 2; }
	$(AUTOBAHN_KIT)/setup.sh
	SPEC=full TIMEOUT=1800 $(MAKE) --no-print-directory _autobahn

_autobahn:
	status=0; \
	AGENT=wsclient PORT=$(AUTOBAHN_PORT) $(AUTOBAHN_KIT)/run.sh $(PY) bench/autobahn_client.py \
	  || status=1; \
	AGENT=wsclient-deflate PORT=$(AUTOBAHN_PORT) $(AUTOBAHN_KIT)/run.sh $(PY) \
	  bench/autobahn_client.py --compress || status=1; \
	exit $$status

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache site $(BENCH_OUT)
