# The two commands: `make run` and `make test`. Each creates .venv when missing and installs
# the project into it; the stamp files make a second call quick.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python

.PHONY: run test lint bench fuzz soak mutate mutate-sample clean system-deps

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.stamp-run: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-test: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

$(VENV)/.stamp-bench: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test,bench]'
	touch $@

run: $(VENV)/.stamp-run
	$(BIN)/penctl console

lint: $(VENV)/.stamp-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo

# The browser and terminal tests need Debian's chromium and tmux, the C codec's test a C compiler
# (gcc). As root on Debian (as in CI) they are installed when missing; elsewhere those tests
# skip, saying what to install.
system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	  command -v tmux >/dev/null || missing="$$missing tmux"; \
	  command -v cc >/dev/null || command -v gcc >/dev/null || missing="$$missing gcc"; \
	  if [ -n "$$missing" ]; then \
	    echo "installing$$missing for the browser, terminal and C codec tests"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing \
	      >/dev/null) || echo "could not install$$missing; those tests will skip"; \
	  fi; \
	fi

test: lint system-deps
	$(BIN)/pytest -q --durations=15
	$(MAKE) --no-print-directory mutate-sample

# Mutation testing (docs/testing.md). The sample: a few mutants per sampled module, drawn with a
# fixed seed; red when one survives. The full run: every mutant of every safety module, one module
# and one worker at a time (hours on 2 cores), after replaying the faults issue 16 names.
MUTATE_SEED ?= 16
mutate-sample: $(VENV)/.stamp-test
	nice -n 10 $(PY) -m mutation.run --sample 2 --seed $(MUTATE_SEED)

mutate: $(VENV)/.stamp-test
	nice -n 10 $(PY) -m mutation.faults
	nice -n 10 $(PY) -m mutation.run

bench: $(VENV)/.stamp-bench
	$(PY) bench/run.py

# The model-based test of the controller and the simulator, 50,000 random sessions (hours).
soak: $(VENV)/.stamp-test
	PENCTL_SOAK_EXAMPLES=50000 $(BIN)/pytest -q -s -p no:cacheprovider tests/controller/test_model.py

fuzz: $(VENV)/.stamp-test
	$(PY) -m tests.fuzz_decoder --inputs 1000000

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .hypothesis .import_linter_cache
