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
.PHONY: help python venv synth synth-all snapshot docs diff configure cost bench preflight promote smoke destroy leftovers state-versions \
	state-restore lint test mutate lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

PYOK := $(shell $(PYTHON) -c 'import sys; print(int(sys.version_info >= (3, 11)))' 2>/dev/null)
python:
	@$(if $(filter 1,$(PYOK)),,$(error the project needs Python 3.11 or newer; $(PYTHON) is $(or $(PYVER),not found): run make PYTHON=python3.11 (or newer)))

# uv (pinned in requirements-dev.txt) installs the locks: it downloads and unpacks in parallel, about four times
# faster than pip here (measured: both virtualenvs in ~35 s against ~150 s). pip only bootstraps uv itself.
UV_PIN := $(shell grep -m1 '^uv==' requirements-dev.txt)
UV_INSTALL := $(VENV)/bin/uv pip install --quiet --no-deps --compile-bytecode
$(STAMP): requirements-dev.txt | python
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check '$(UV_PIN)'
	$(UV_INSTALL) --python $(VENV)/bin/python -r requirements-dev.txt
	touch $@

# checkov pins versions that conflict with pulumi's: it gets a venv of its own (docs/decisions/0003).
$(CHECKOV_STAMP): requirements-checkov.txt | python $(STAMP)
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv --without-pip $(CHECKOV_VENV)
	$(UV_INSTALL) --python $(CHECKOV_VENV)/bin/python -r requirements-checkov.txt
	touch $@

# Whatever target runs first builds the whole environment, both virtualenvs: `make test` then measures the tests.
ENV := $(STAMP) $(CHECKOV_STAMP)

venv: $(ENV) ## build both virtualenvs from the lock files (about 1.2 GB, about a minute)

PROJECT ?=
synth: $(ENV) ## offline desired state of STACK (default dev) -> build/synth/STACK/; PROJECT=bootstrap for the bootstrap
	$(PY) -m tools.synth $(STACK) $(if $(PROJECT),--project $(PROJECT))

synth-all: $(ENV) ## offline synth of every stack of both projects -> build/synth/[bootstrap/]<stack>/
	@for s in $(STACKS); do $(PY) -m tools.synth $$s || exit $$?; done
	@for s in $(BOOTSTRAP_STACKS); do $(PY) -m tools.synth $$s --project bootstrap || exit $$?; done

snapshot: $(ENV) ## rewrite tests/snapshots/<stack>.yaml from the program (review the diff, then commit)
	$(PY) -m tools.snapshot

docs: $(ENV) ## regenerate docs/stack-config.schema.json and the README's configuration table
	$(PY) -m tools.docs

BASE ?= origin/main
ALLOW ?=
# ALLOW: acknowledgements (URN=what, as each `blocked:` line prints them), space-separated. $(value ...) keeps
# the `$` inside URNs from being read as make variables.
# GNU make exits 2 whatever code a recipe fails with ("Running make", GNU make manual: its exit status is 0, 2,
# or 1 with -q), so the recipe says tools.diff's own code in its last line and in build/diff-exit-code: 3 for a
# blocked change, 2 for bad input (a stack value, an acknowledgement that matches nothing).
DIFF_CODE ?= build/diff-exit-code
diff: $(ENV) ## offline diff of every stack: BASE (git ref, default origin/main) -> working tree; ALLOW='urn=what ...'
	@mkdir -p $(dir $(DIFF_CODE)); $(PY) -m tools.diff --base $(BASE) --allow-file .github/guard-allow.txt \
		$(foreach ack,$(value ALLOW),--allow '$(ack)'); code=$$?; echo $$code > $(DIFF_CODE); \
		if [ $$code -ne 0 ]; then echo "make diff: tools.diff exit $$code (3: a blocked change; 2: bad input)" >&2; fi; \
		exit $$code

ORG ?=
REPO ?=
configure: $(ENV) ## write ORG, REPO and the account ids DEV=, STAGING=, PROD= into every file that holds them
	$(PY) -m tools.configure --org '$(ORG)' --repo '$(REPO)' $(foreach s,$(STACKS),--account '$(s)=$($(shell echo $(s) | tr a-z A-Z))')

cost: $(ENV) ## monthly cost estimate of STACK (default dev), offline, line by line; PROJECT=bootstrap for the bootstrap
	@$(PY) -m tools.cost $(STACK) $(if $(PROJECT),--project $(PROJECT))

preflight: $(ENV) ## before `pulumi up`: account, region, images, quotas, AWS CLI (AWS credentials)
	@$(PY) -m tools.preflight $(STACK)

FROM ?= staging
TO ?= prod
APIS ?=
promote: $(ENV) ## copy tag and digest of APIS (default all) from Pulumi.FROM.yaml to Pulumi.TO.yaml; prints the diff
	@$(PY) -m tools.promote $(FROM) $(TO) $(if $(APIS),--apis '$(APIS)')

smoke: $(ENV) ## after `pulumi up`: cluster, node groups, add-ons, image scans (AWS credentials)
	@$(PY) -m tools.smoke $(STACK)

destroy: $(ENV) ## `pulumi destroy` of STACK, refused in one line when its settings protect it (dev only)
	@$(PY) -m tools.destroy $(STACK)

leftovers: $(ENV) ## after a destroy: what is still tagged for STACK's cluster, with the command removing each
	@$(PY) -m tools.leftovers $(STACK)

VERSION ?=
state-versions: $(ENV) ## the checkpoints of STACK in its state bucket (S3 versions): time, size, resources, who
	@$(PY) -m tools.state versions $(STACK)

state-restore: $(ENV) ## make STACK's checkpoint VERSION current again (asks; YES=1 for scripts; deletes nothing)
	@$(PY) -m tools.state restore $(STACK) $(VERSION) $(if $(YES),--yes)

bench: $(ENV) ## synth timings as ratios (floor, per stack, 2/25/100 APIs)
	$(PY) -m tools.bench

lint: $(ENV) ## ruff (lint and format) and mypy over the program, tools, policy and tests; zizmor over .github/
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/zizmor --offline .github/

# worksteal: a core that runs out of tests takes queued ones from the other, instead of idling while the other
# works through the slow tests at the head of the collection (measured: 61 s against 67 s with the default).
test: $(ENV) ## the whole test suite, offline, on every core (stops first on a stack that does not synthesize)
	$(PY) -m pytest -n auto --dist worksteal

ONLY ?=
mutate: $(ENV) ## do the gates catch tools/data/mutations.yaml? ONLY='id ...' (20-60 s each, one per core)
	$(PY) -m tools.mutate $(if $(ONLY),--only $(ONLY))

lock: $(ENV) ## re-resolve the lock files from pyproject.toml
	$(VENV)/bin/uv pip compile pyproject.toml -p 3.11 --quiet --no-header -o requirements.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev -p 3.11 --quiet --no-header -o requirements-dev.txt

clean: ## remove build output and both virtualenvs
	rm -rf build $(VENV) $(CHECKOV_VENV)
