# timelocal: `make demo` and `make test` each set up .venv by themselves.
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EXTRAS := lava,test,bench,dev,tasks

# python3.10 on PATH first (only if it really runs: pyenv's shim exists but
# fails when 3.10 is not the active version), then pyenv's 3.10 install.
PYTHON310 := $(shell \
	if python3.10 -c 'import sys' >/dev/null 2>&1; then echo python3.10; \
	elif command -v pyenv >/dev/null 2>&1 && \
	     ls "$$(pyenv root)"/versions/3.10*/bin/python3.10 >/dev/null 2>&1; then \
	  ls "$$(pyenv root)"/versions/3.10*/bin/python3.10 | sort -V | tail -n 1; \
	fi)

.PHONY: install demo test bench bench-quick lint clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON310)" ]; then \
	  echo "error: timelocal needs Python 3.10 (lava-nc 0.10.0 installs only there)." >&2; \
	  echo "Install it (e.g. 'pyenv install 3.10') or put python3.10 on PATH, then run make again." >&2; \
	  exit 1; fi
	@[ -x $(BIN)/python ] || $(PYTHON310) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[$(EXTRAS)]"
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/timelocal run --rule anp --decorrelate --stream synth:mackey-glass

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2

# Every benchmark, then docs/RESULTS.md (under 2 hours on 2 cores).
bench: $(STAMP)
	$(BIN)/python benchmarks/results.py --run

# The same, short, into docs/quick/ (not the published reports).
bench-quick: $(STAMP)
	$(BIN)/python benchmarks/results.py --run --quick

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +
