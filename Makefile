# safesignal: `make run` serves the API on http://127.0.0.1:8000; `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
THREADS ?= 4
# The local SMS gateway emulator (service/sms/emulator.py): the demo's texts go there.
SMS_EMULATOR_PORT ?= 8025

.PHONY: run test spec bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "safesignal needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# The service on its embedded default (SQLite in ./instance), behind gunicorn, with the retention
# scheduler beside it; Ctrl-C stops them all. `make run PORT=8080` serves another port. gunicorn.conf.py
# (service/gunicorn.py) keeps client addresses out of every log line: no access log, and gunicorn's
# own messages scrubbed (they would say "Invalid request from ip=..."), so its log shows the bound
# address as [address] too; the echo below says where to go. The SMS gateway emulator runs beside
# them (development sends every text to it): `safesignal sms simulate` texts the service through it.
run: export SAFESIGNAL_SMS_EMULATOR ?= http://127.0.0.1:$(SMS_EMULATOR_PORT)
run: export SAFESIGNAL_PUBLIC_URL ?= http://$(HOST):$(PORT)
run: $(VENV)/.installed
	$(BIN)/safesignal db upgrade
	$(BIN)/safesignal demo
	@echo "# serving http://$(HOST):$(PORT) (Ctrl-C stops it)"
	$(BIN)/safesignal scheduler & scheduler=$$!; \
	$(BIN)/safesignal sms emulator --port $(SMS_EMULATOR_PORT) --service http://$(HOST):$(PORT) & emulator=$$!; \
	trap 'kill $$scheduler $$emulator 2>/dev/null; wait $$scheduler $$emulator' EXIT; \
	$(BIN)/gunicorn -c gunicorn.conf.py --workers $(WORKERS) --threads $(THREADS) --bind $(HOST):$(PORT) 'service:create_app()'

test: $(VENV)/.installed
	$(BIN)/pytest

# Regenerate the committed OpenAPI document from the code.
spec: $(VENV)/.installed
	$(BIN)/safesignal openapi write --format=yaml api_spec/openapi.yaml

bench: $(VENV)/.installed
	$(BIN)/python bench/intake.py

clean:
	rm -rf $(VENV) instance .pytest_cache
