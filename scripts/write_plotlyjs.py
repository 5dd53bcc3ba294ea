"""Write plotly.js once, so that every interactive figure can share it."""

from __future__ import annotations

import argparse

from reward_preprocessing.cli import run
from reward_preprocessing.plotting.heatmaps import write_plotlyjs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True)
    write_plotlyjs(parser.parse_args(argv).out)


if __name__ == "__main__":
    run(main)
