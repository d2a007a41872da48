# Every target builds what it needs on first use: a fresh clone needs only python3 and make.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV_VENV := .venv-checkov
STACK ?= dev
STACKS := dev staging prod

.DEFAULT_GOAL := help
.PHONY: help venv synth synth-all snapshot diff bench preflight smoke test lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-dev.txt
	touch $@

# checkov pins versions that conflict with pulumi's: it gets a venv of its own (docs/decisions).
$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-checkov.txt
	touch $@

venv: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## build both virtualenvs from the lock files

synth: $(VENV)/.installed ## offline desired state of STACK (default dev) -> build/synth/STACK/
	$(PY) -m tools.synth $(STACK)

synth-all: $(VENV)/.installed ## offline synth of every stack
	@for s in $(STACKS); do $(PY) -m tools.synth $$s || exit $$?; done

snapshot: $(VENV)/.installed ## rewrite tests/snapshots/<stack>.json from the program
	@for s in $(STACKS); do $(PY) -m tools.synth $$s --out build/synth/$$s > /dev/null && \
	  cp build/synth/$$s/graph.json tests/snapshots/$$s.json && echo "tests/snapshots/$$s.json" || exit $$?; done

BASE ?= origin/main
diff: $(VENV)/.installed ## offline diff of every stack: BASE (git ref, default origin/main) -> working tree
	$(PY) -m tools.diff --base $(BASE) --allow-file .github/guard-allow.txt

preflight: $(VENV)/.installed ## before `pulumi up`: account, region, images, quotas (AWS credentials)
	@$(PY) -m tools.preflight $(STACK)

smoke: $(VENV)/.installed ## after `pulumi up`: cluster, node groups, add-ons, image scans (AWS credentials)
	@$(PY) -m tools.smoke $(STACK)

bench: $(VENV)/.installed ## synth timings as ratios (floor, per stack, 2/25/100 APIs)
	$(PY) -m tools.bench

test: $(VENV)/.installed $(CHECKOV_VENV)/.installed ## the whole test suite, offline
	$(PY) -m pytest

lock: $(VENV)/.installed ## re-resolve the lock files from pyproject.toml
	$(VENV)/bin/uv pip compile pyproject.toml -p 3.11 --quiet --no-header -o requirements.txt
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev -p 3.11 --quiet --no-header -o requirements-dev.txt

clean: ## remove build output and virtualenvs
	rm -rf build $(VENV) $(CHECKOV_VENV)
