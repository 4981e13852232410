# Two commands for a newcomer: `make demo` (chat with the bot in a terminal) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench run migrate clean

# Re-installs whenever pyproject.toml changes, so a pulled dependency change is picked up.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/eqa-bot demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check . || true
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

run: $(STAMP)
	$(BIN)/eqa-bot run

migrate: $(STAMP)
	$(BIN)/eqa-bot migrate

clean:
	rm -rf $(VENV) var/*.sqlite3 .pytest_cache
