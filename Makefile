# The two commands: `make run` and `make test`. Everything else is a helper of those.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings

.PHONY: run test install install-dev migrate demo serve bench lint format messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# A stamp per requirements file, so a second `make run` installs nothing.
$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/python manage.py migrate --noinput -v0

# Reference data, the real public data in data/, demo accounts, alerts and the summit report.
demo: migrate
	DEMO_MODE=1 PORT=$(PORT) $(BIN)/python manage.py setup_demo

serve:
	@echo ""
	@echo "  Central Asia Food-Security Monitor: http://127.0.0.1:$(PORT)/"
	@echo "  Admin: http://127.0.0.1:$(PORT)/admin/   API docs: http://127.0.0.1:$(PORT)/api/docs/"
	@echo "  Log in as admin, kg_clerk, kg_approver, analyst or viewer (see README) with the password"
	@echo "  '$${DEMO_PASSWORD:-demo-Central-Asia-2026}'."
	@echo ""
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

run: demo serve

PYTEST_ARGS ?= -n 2 --dist loadfile
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The project catalogue (locale/) covers config, countries, monitoring and templates; reports/ keeps its own.
I18N_IGNORE := --ignore=.venv --ignore=staticfiles --ignore=tests --ignore=benchmarks --ignore=media --ignore=static/vendor
messages: install-dev
	$(BIN)/python manage.py makemessages -l ru -l kk -l ky -l tg -l tk -l uz $(I18N_IGNORE) --ignore=reports
	cd reports && env -u DJANGO_SETTINGS_MODULE ../$(BIN)/django-admin makemessages -l ru --no-location
	$(BIN)/python manage.py compilemessages $(I18N_IGNORE)

clean:
	rm -rf $(VENV) db.sqlite3 media staticfiles
