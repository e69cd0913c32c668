# Every target makes .venv from pyproject.toml when it is missing or older than it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/arbridge demo $(if $(PORT),--port $(PORT))

# Models and migrations must agree; checked on SQLite whatever DATABASE_URL says,
# since the test database is created by pytest, not here.
test: $(STAMP)
	DATABASE_URL= $(BIN)/arbridge manage makemigrations --check --dry-run
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(STAMP)
	$(BIN)/python bench/api_invoices.py --invoices 200000

clean:
	rm -rf $(VENV) var .pytest_cache
