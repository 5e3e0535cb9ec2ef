# Everything a fresh machine needs is done here: only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ADDR ?= 127.0.0.1:8000
PYTEST_ARGS ?=

.PHONY: install migrate places run test demo lint format

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --no-input

places: migrate
	$(BIN)/python manage.py load_places

# The web server and the cluster together; Ctrl-C stops both. The cluster runs
# in a session of its own and gets one SIGTERM from here: a signal reaching all
# of its processes at once can hang it.
run: places
	@echo "ShareBook on http://$(ADDR)/api/books/ (Ctrl-C stops the server and the cluster)"
	@setsid $(BIN)/python manage.py qcluster & cluster=$$!; \
	trap 'kill -TERM $$cluster 2>/dev/null; wait $$cluster' EXIT; \
	trap 'exit 130' INT TERM; \
	$(BIN)/python manage.py runserver --insecure --noreload $(ADDR)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

demo: install
	$(BIN)/python manage.py demo

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
