# MAO: the two commands a new machine needs are `make dev` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TOOLS := .tools-venv
MAO_PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: dev test test-slow lint deploy-checks bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,train]"
	touch $(STAMP)

## Start the whole stack locally on the embedded AWS emulator (API on http://localhost:$(MAO_PORT)/api/v1).
dev: $(STAMP)
	MAO_PORT=$(MAO_PORT) $(BIN)/python -m mao_local

## The default test suite (lint included). Suites that start the local stack run in their own pytest
## session: in-process emulator tests (moto's mock_aws) reset the emulator's state, stack included.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 tests/unit tests/integration $(PYTEST_ARGS)
	$(BIN)/python -m pytest -n 2 tests/e2e tests/reliability $(PYTEST_ARGS)

## The long suites (fuzzing, load, fault injection), run as CI's second stage.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

## sam validate --lint, cfn-lint and sam build, in their own virtualenv (SAM pins its own pydantic).
deploy-checks:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "aws-sam-cli>=1.150,<2" "cfn-lint>=1.30,<2"
	AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x SAM_CLI_TELEMETRY=0 \
		$(TOOLS)/bin/sam validate --lint --template template.yaml
	$(TOOLS)/bin/cfn-lint template.yaml
	AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x SAM_CLI_TELEMETRY=0 \
		PATH="$(abspath $(TOOLS))/bin:$$PATH" $(TOOLS)/bin/sam build --template template.yaml --build-dir .aws-sam/build
	$(PYTHON) scripts/check-lambda-size.py .aws-sam/build

clean:
	rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache
