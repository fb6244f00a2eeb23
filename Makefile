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

.PHONY: install demo test bench lint clean

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

bench: $(STAMP)
	$(BIN)/python benchmarks/mackey_glass.py
	$(BIN)/python benchmarks/scaling.py
	$(BIN)/python benchmarks/speed.py
	$(BIN)/python benchmarks/fixed_point.py
	$(BIN)/python benchmarks/latency.py
	$(BIN)/python benchmarks/lava_speed.py
	$(BIN)/python benchmarks/profile.py
	$(BIN)/python benchmarks/gle_mnist1d.py
	$(BIN)/python benchmarks/gle_teacher.py
	$(BIN)/python benchmarks/target_prop.py
	$(BIN)/python benchmarks/copy_memory.py
	$(BIN)/python benchmarks/results.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
	find . -name __pycache__ -prune -exec rm -rf {} +
