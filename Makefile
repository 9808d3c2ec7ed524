# Two entry points: `make demo` (the main job) and `make test` (the full suite).
# Each creates .venv on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo simulate test lint typecheck bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/labelloop demo demo-project --host 127.0.0.1 --port 8000

simulate: $(STAMP)
	$(BIN)/labelloop simulate --dataset digits --strategies random,least_confidence,margin,entropy \
		--learner logreg --seed-size 20 --batch-size 10 --budget 300 --repeats 3 --out demo-out

lint: $(STAMP)
	$(BIN)/ruff check labelloop tests bench
	$(BIN)/ruff format --check labelloop tests bench

typecheck: $(STAMP)
	$(BIN)/mypy labelloop tests

test: $(STAMP) lint typecheck
	$(BIN)/pytest -m "slow or not slow"

bench: $(STAMP)
	$(BIN)/python bench/select_speed.py
	$(BIN)/python bench/label_efficiency.py
	$(BIN)/python bench/serve_load.py

clean:
	rm -rf $(VENV) demo-out demo-project .pytest_cache .mypy_cache .ruff_cache
