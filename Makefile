# Two entry points for a fresh machine; each sets up .venv (or $RP_VENV) first (idempotently).
#   make heatmap   the paper's main maze10 figure -> results/heatmaps/maze10.png
#   make test      the test suite
# Any other target: make run TARGET=results/heatmaps/keymaze10_path_log.png  (or TARGET=all)

# The venv's place: RP_VENV (absolute, or relative to the repository root), as scripts/setup_env.sh reads it.
RP_VENV ?= .venv
export RP_VENV
SNAKEMAKE = $(RP_VENV)/bin/snakemake
CORES ?= 8
TARGET ?= all
# Test processes (pytest-xdist): one per CPU, at most 4 (TEST_WORKERS=0: one process, no xdist). Whole test files
# go to one process (--dist loadfile), so a module's fixtures and the session's tiny workflow run are built once
# per process, not once per test.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1); \
	echo $$(( n > 4 ? 4 : n )))

.PHONY: setup heatmap run test lint

setup:
	@bash scripts/setup_env.sh

heatmap: setup
	$(SNAKEMAKE) --cores $(CORES) results/heatmaps/maze10.png

run: setup
	$(SNAKEMAKE) --cores $(CORES) $(TARGET)

test: setup
	$(RP_VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile

lint: setup
	$(RP_VENV)/bin/ruff check .
	$(SNAKEMAKE) --lint
