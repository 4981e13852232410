# Two commands for a newcomer: `make demo` (chat with the bot in a terminal) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Every dependency pinned with its hashes (`make lock` writes both from pyproject.toml): the runtime set
# (deploy/Dockerfile installs it) and the runtime set plus the test tools (what `make demo`/`make test` use).
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
# Linux x86_64, CPython 3.11: what CI, the Docker image and the servers run.
LOCK_TARGET := --python-version 3.11 --python-platform x86_64-unknown-linux-gnu
# `make lock LOCK_ARGS=--upgrade` moves every pin to the newest allowed version; plain `make lock` keeps
# existing pins and only resolves what pyproject.toml added or changed.
LOCK_ARGS ?=

.PHONY: demo desk test lint bench run migrate clean lock

# Re-installs whenever the lock (or pyproject.toml) changes, so a pulled dependency change is picked up.
# Only hashed, pinned files are installed; the project itself goes in without resolving anything.
$(STAMP): pyproject.toml $(TEST_LOCK)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r $(TEST_LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@$(BIN)/python -m pip check >/dev/null || { $(BIN)/python -m pip check; \
		echo "pyproject.toml asks for something the lock lacks: run 'make lock'"; exit 1; }
	touch $(STAMP)

lock:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet 'uv>=0.13'
	$(BIN)/uv pip compile --quiet --generate-hashes $(LOCK_TARGET) $(LOCK_ARGS) \
		--custom-compile-command 'make lock' -o $(LOCK) pyproject.toml
	$(BIN)/uv pip compile --quiet --generate-hashes $(LOCK_TARGET) $(LOCK_ARGS) \
		--custom-compile-command 'make lock' --extra test -c $(LOCK) -o $(TEST_LOCK) pyproject.toml

demo: $(STAMP)
	$(BIN)/eqa-bot demo

# The web desk on the demo database; the demo reviewer's and admin's passwords are printed.
desk: $(STAMP)
	$(BIN)/eqa-bot desk --demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

run: $(STAMP)
	$(BIN)/eqa-bot run

migrate: $(STAMP)
	$(BIN)/eqa-bot migrate

clean:
	rm -rf $(VENV) var/*.sqlite3 .pytest_cache
