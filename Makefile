# Every target builds .venv on first use (and again when a requirements file changes), so a
# fresh machine needs only Python 3.11 and make.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
STAGE  ?= dev

.PHONY: run test lint unit deploy nlp-layer bench clean

$(STAMP): requirements.txt requirements-vendor.txt requirements-local.txt requirements-dev.txt constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "socialcrm needs Python 3.11 (the Lambda runtime); set PYTHON=/path/to/python3.11")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(STAMP)

## make run: moto server + provisioned resources + chalice local + worker + demo replay
run: $(STAMP)
	$(BIN)/python -m tools.local

## make test: everything CI checks
test: lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

## make deploy STAGE=prod [SECRETS_FILE=path] [COGNITO_USER_POOL_ID=id COGNITO_DOMAIN=url CONSOLE_CLIENT_ID=id] [URGENT_ALERT_EMAIL=a@b ALERT_EMAIL= DIGEST_EMAIL= SUPERVISOR_EMAIL=]: package, merge infra/, deploy
deploy: $(STAMP)
	$(BIN)/python -m tools.deploy --stage $(STAGE) $(if $(SECRETS_FILE),--secrets-file $(SECRETS_FILE)) \
		$(if $(COGNITO_USER_POOL_ID),--cognito-user-pool-id $(COGNITO_USER_POOL_ID)) \
		$(if $(COGNITO_APP_CLIENT_IDS),--cognito-app-client-ids $(COGNITO_APP_CLIENT_IDS)) \
		$(if $(COGNITO_DOMAIN),--cognito-domain $(COGNITO_DOMAIN)) \
		$(if $(CONSOLE_CLIENT_ID),--console-client-id $(CONSOLE_CLIENT_ID)) \
		$(if $(URGENT_ALERT_EMAIL),--urgent-alert-email $(URGENT_ALERT_EMAIL)) \
		$(if $(ALERT_EMAIL),--alert-email $(ALERT_EMAIL)) \
		$(if $(DIGEST_EMAIL),--digest-email $(DIGEST_EMAIL)) \
		$(if $(SUPERVISOR_EMAIL),--supervisor-email $(SUPERVISOR_EMAIL))

## make nlp-layer: build/nlp-layer.zip, the offline analyzer's Lambda layer (make deploy builds it itself for a
## stage whose SOCIALCRM_NLP is local or hybrid); FORCE=1 builds it again even if nothing changed
nlp-layer: $(STAMP)
	$(BIN)/python -m tools.nlp_layer $(if $(FORCE),--force)

## make bench: prints the benchmark tables
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache .hypothesis
