# Two entry points for a fresh machine; each sets up .venv first (idempotently).
#   make heatmap   the paper's main maze10 figure -> results/heatmaps/maze10.png
#   make test      the test suite
# Any other target: make run TARGET=results/heatmaps/keymaze10_path_log.png  (or TARGET=all)

SNAKEMAKE = .venv/bin/snakemake
CORES ?= 8
TARGET ?= all

.PHONY: setup heatmap run test lint

setup:
	@bash scripts/setup_env.sh

heatmap: setup
	$(SNAKEMAKE) --cores $(CORES) results/heatmaps/maze10.png

run: setup
	$(SNAKEMAKE) --cores $(CORES) $(TARGET)

test: setup
	.venv/bin/pytest

lint: setup
	.venv/bin/ruff check .
	$(SNAKEMAKE) --lint
