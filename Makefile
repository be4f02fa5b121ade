# The two commands: `make demo` and `make test`. Everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum < pyproject.toml | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test venv lint format bench clean messages screenshots

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev,spark]'
	@rm -f $(VENV)/.installed-*
	@touch $@

## venv: create .venv and install Sluice with its development tools (done by every target that needs it)
venv: $(STAMP)

## demo: create the environment, build the demo government into ./sluice-data and serve it on 127.0.0.1:8000
demo: $(STAMP)
	@$(BIN)/sluice demo build
	@$(BIN)/sluice serve --host $(HOST) --port $(PORT)

## test: create the environment and run every test (browser and Spark suites run when their tools are present)
test: $(STAMP)
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff and mypy, as CI runs them
lint: $(STAMP)
	@$(BIN)/ruff check src tests bench
	@$(BIN)/ruff format --check src tests bench
	@$(BIN)/mypy

format: $(STAMP)
	@$(BIN)/ruff format src tests bench
	@$(BIN)/ruff check --fix src tests bench

## bench: run the benchmarks in bench/ (never part of the test run)
bench: $(STAMP)
	@$(BIN)/python -m pip install --quiet -e '.[bench]'
	@$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

## messages: extract the portal's message ids and merge them into the zh_CN catalog (then translate the new ones)
messages: $(STAMP)
	@mkdir -p build
	@$(BIN)/pybabel extract -F src/sluice/web/babel.cfg --no-location --omit-header --sort-output -o build/messages.pot src/sluice/web
	@$(BIN)/pybabel update -i build/messages.pot -d src/sluice/web/locale -l zh_CN --ignore-obsolete --no-fuzzy-matching --width 120

## screenshots: the portal's main pages as docs/screenshots/*.png (needs Debian's chromium and a CJK font)
screenshots: $(STAMP)
	@$(BIN)/python -m tests.web.screenshots
