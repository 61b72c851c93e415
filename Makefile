# podium: `make folds train infer ensemble` on the demo competition by default;
# any competition with CONFIG=configs/<comp>/<file>.yaml (EXP=<member> narrows an ensemble).
# Each target is one `podium <stage>` call: podium's pipeline runs what a stage needs first
# (train needs folds, ensemble its members' oof and infer...) and skips what is fresh, so any
# target works on its own and re-running is cheap.

# DEMO picks the demo competition of `make demo` (digits_hard, the default: the ensemble demo;
# digits, digits_regression, digits_multilabel, digits_ordinal, digits_metadata,
# digits_segmentation, digits_series, digits_volumes); its data is written on demand
DEMO ?= digits_hard
CONFIG ?= configs/$(DEMO)/ensemble.yaml
EXP ?=
ARGS ?=
# setup: PY picks the Python of a new venv (python3.10 ... python3.13; a pyenv version that is
# installed but not selected works too); an existing venv keeps its own unless PY is given
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PODIUM := $(BIN)/podium
export NO_ALBUMENTATIONS_UPDATE := 1

EXP_FLAG := $(if $(EXP),--exp $(EXP),)
# the demo competition is written on demand; a real competition's files are the user's
DEMO_DIR := $(word 2,$(subst /, ,$(CONFIG)))
DEMO_DATA := $(if $(and $(filter configs,$(firstword $(subst /, ,$(CONFIG)))),$(filter digits digits_%,$(DEMO_DIR))),data/$(DEMO_DIR)/train.csv,)

.PHONY: setup lock demo-data folds train oof infer ensemble submit score lr-find pseudo tune demo demo-full board test lint format bench-quality bench-throughput bench-decode bench-board clean-runs

# the venv, from its Python's hash-checked lock file (requirements/py3.X.txt); quick when
# nothing changed (requirements/setup.sh says what it does)
setup:
	@requirements/setup.sh '$(if $(filter command line environment,$(origin PY)),$(PY))' '$(VENV)'

# the lock files again after a change to pyproject.toml's dependencies (locked versions kept
# where still allowed); UPGRADE=1: the newest releases pyproject.toml allows
# (it needs the venv's uv only: a setup refused for a lock that lacks a new dependency is fine)
lock:
	@[ -x $(BIN)/uv ] || $(MAKE) setup || [ -x $(BIN)/uv ]
	requirements/lock.sh $(BIN)/uv

data/digits/train.csv: | setup
	$(PODIUM) demo-data

data/digits_%/train.csv: | setup
	$(PODIUM) demo-data --task $*

demo-data: data/digits/train.csv

folds train oof infer lr-find: setup $(DEMO_DATA)
	$(PODIUM) $@ -c $(CONFIG) $(if $(filter folds,$@),,$(EXP_FLAG)) $(ARGS)

# an ensemble ends by writing the validated submission and printing its path and CV
ensemble submit score: setup $(DEMO_DATA)
	$(PODIUM) $@ -c $(CONFIG) $(ARGS)

pseudo: setup $(DEMO_DATA)
	$(PODIUM) pseudo -c $(or $(PSEUDO),configs/digits/pseudo.yaml) $(ARGS)

tune: setup $(DEMO_DATA)
	$(PODIUM) tune -c $(or $(TUNE),configs/digits/tune.yaml) $(ARGS)

# the main job on the demo: folds -> members -> oof/infer -> stack -> submission -> local LB
# (a demo whose folder has an ensemble.yaml runs it, segmentation's U-Net + FPN included;
# otherwise its unet.yaml alone)
demo: CONFIG := $(or $(wildcard configs/$(DEMO)/ensemble.yaml),configs/$(DEMO)/unet.yaml)
demo: score

# the long version on the easy digits (5 folds x 20 epochs, seed pairs, TTA: ~25 min on 2
# cores): the README's quality table (benchmarks/quality.py)
demo-full:
	$(MAKE) demo DEMO=digits

# the experiment board of the config's competition: runs/<comp>/board.html
board: setup
	$(PODIUM) board -c $(CONFIG) $(ARGS)

# The tests in two runs: those in one process on WORKERS pytest-xdist workers of one torch
# thread each (2 on a 2-core machine: about twice as fast as one process of two threads,
# since tiny models do not use a second thread), then the `processes` tests (torchrun, device
# pools, killed stages, tune workers, the GPU check) alone, since each starts processes of its
# own. TESTS: pytest's selection (paths, -k); PROCESSES=no leaves the second run out (what CI
# does on the oldest Python). pytest's 5 ("nothing selected") is not a failure here.
TESTS ?=
WORKERS ?= 2
PROCESSES ?= yes
test: setup
	OMP_NUM_THREADS=1 $(BIN)/pytest -q --durations=15 -n $(WORKERS) -m "not processes" $(TESTS) || [ $$? -eq 5 ]
ifeq ($(PROCESSES),yes)
	$(BIN)/pytest -q --durations=10 -m processes $(TESTS) || [ $$? -eq 5 ]
endif

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench-quality: setup
	$(BIN)/python benchmarks/quality.py -c $(CONFIG)

bench-throughput: setup
	$(BIN)/python benchmarks/throughput.py

bench-decode: setup
	$(BIN)/python benchmarks/decode_speed.py

bench-board: setup
	$(BIN)/python benchmarks/board_speed.py

clean-runs:
	rm -rf runs
