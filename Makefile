# Every target builds what it needs on first use: a fresh clone needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
STACK ?= dev
# One stack per Pulumi.<stack>.yaml: adding a stack file adds the stack everywhere.
STACKS := $(patsubst Pulumi.%.yaml,%,$(wildcard Pulumi.*.yaml))
BOOTSTRAP_STACKS := $(patsubst bootstrap/Pulumi.%.yaml,%,$(wildcard bootstrap/Pulumi.*.yaml))
# The interpreter's version is part of the virtualenvs' stamps: a .venv built by another Python (or left
# half-built by a failed first run) is rebuilt from scratch instead of being trusted.
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
STAMP := $(VENV)/.installed-$(PYVER)
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(PYVER)

.DEFAULT_GOAL := help
.PHONY: help python venv synth synth-all snapshot docs diff bench preflight promote smoke lint test mutate lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

PYOK := $(shell $(PYTHON) -c 'import sys; print(int(sys.version_info >= (3, 11)))' 2>/dev/null)
python:
	@$(if $(filter 1,$(PYOK)),,$(error the project needs Python 3.11 or newer; $(PYTHON) is $(or $(PYVER),not found): run make PYTHON=python3.11 (or newer)))

$(STAMP): requirements-dev.txt | python
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-dev.txt
	touch $@

# checkov pins versions that conflict with pulumi's: it gets a venv of its own (docs/decisions/0003).
$(CHECKOV_STAMP): requirements-checkov.txt | python
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-checkov.txt
	touch $@

venv: $(STAMP) $(CHECKOV_STAMP) ## build both virtualenvs from the lock files (about 1.2 GB, a few minutes)

PROJECT ?=
synth: $(STAMP) ## offline desired state of STACK (default dev) -> build/synth/STACK/; PROJECT=bootstrap for the bootstrap
	$(PY) -m tools.synth $(STACK) $(if $(PROJECT),--project $(PROJECT))

synth-all: $(STAMP) ## offline synth of every stack of both projects -> build/synth/[bootstrap/]<stack>/
	@for s in $(STACKS); do $(PY) -m tools.synth $$s || exit $$?; done
	@for s in $(BOOTSTRAP_STACKS); do $(PY) -m tools.synth $$s --project bootstrap || exit $$?; done

snapshot: $(STAMP) ## rewrite tests/snapshots/<stack>.yaml from the program (review the diff, then commit)
	$(PY) -m tools.snapshot

docs: $(STAMP) ## regenerate docs/stack-config.schema.json and the README's configuration table
	$(PY) -m tools.docs

BASE ?= origin/main
ALLOW ?=
# ALLOW: URNs to acknowledge, space-separated and quoted for the shell as `make diff` prints them. $(value ...)
# keeps the `$` inside URNs from being read as make variables.
diff: $(STAMP) ## offline diff of every stack: BASE (git ref, default origin/main) -> working tree; ALLOW='urn ...'
	$(PY) -m tools.diff --base $(BASE) --allow-file .github/guard-allow.txt $(foreach urn,$(value ALLOW),--allow '$(urn)')

preflight: $(STAMP) ## before `pulumi up`: account, region, images, quotas, AWS CLI (AWS credentials)
	@$(PY) -m tools.preflight $(STACK)

FROM ?= staging
TO ?= prod
APIS ?=
promote: $(STAMP) ## copy tag and digest of APIS (default all) from Pulumi.FROM.yaml to Pulumi.TO.yaml; prints the diff
	@$(PY) -m tools.promote $(FROM) $(TO) $(if $(APIS),--apis '$(APIS)')

smoke: $(STAMP) ## after `pulumi up`: cluster, node groups, add-ons, image scans (AWS credentials)
	@$(PY) -m tools.smoke $(STACK)

bench: $(STAMP) ## synth timings as ratios (floor, per stack, 2/25/100 APIs)
	$(PY) -m tools.bench

lint: $(STAMP) ## ruff (lint and format) and mypy over the program, tools, policy and tests
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(STAMP) $(CHECKOV_STAMP) ## the whole test suite, offline, on every core (stops first on a stack that does not synthesize)
	$(PY) -m pytest -n auto

ONLY ?=
mutate: $(STAMP) $(CHECKOV_STAMP) ## do the gates catch tools/data/mutations.yaml? ONLY='id ...' (about a minute each)
	$(PY) -m tools.mutate $(if $(ONLY),--only $(ONLY))

lock: $(STAMP) ## re-resolve the lock files from pyproject.toml
	$(VENV)/bin/uv pip compile pyproject.toml -p 3.11 --quiet --no-header -o requirements.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev -p 3.11 --quiet --no-header -o requirements-dev.txt

clean: ## remove build output and both virtualenvs
	rm -rf build $(VENV) $(CHECKOV_VENV)
