"""Plot reward curves along one rollout: rows = shapings, columns = unmodified + objectives.

Example:
    python scripts/plot_curves.py --rollouts results/rollouts/mountain_car_curve --rows unshaped dense \
        --columns sparse_l1 smooth_l1 --runs <preprocessed dir per (row, column), row-major> \
        --out results/curves/mountain_car
writes mountain_car.png, mountain_car.pdf and mountain_car.html.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from reward_preprocessing.cli import run
from reward_preprocessing.data.rollouts import load_rollouts
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.errors import UserError
from reward_preprocessing.plotting.curves import CurveGrid, save_curves_html, save_curves_png_pdf
from reward_preprocessing.rewards.io import load_reward_net, read_spec


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", required=True, help="rollout directory to plot along")
    parser.add_argument("--rows", nargs="+", required=True, help="row labels (shapings)")
    parser.add_argument("--columns", nargs="+", required=True, help="objectives shown after the unmodified reward")
    parser.add_argument("--runs", nargs="+", required=True, help="preprocessed model directories, row-major")
    parser.add_argument("--steps", type=int, default=1000, help="plot the first this many steps")
    parser.add_argument("--title", default="")
    parser.add_argument("--out", required=True, help="output prefix; .png, .pdf and .html are appended")
    args = parser.parse_args(argv)

    if len(args.runs) != len(args.rows) * len(args.columns):
        raise UserError(f"got {len(args.runs)} runs for {len(args.rows)} rows x {len(args.columns)} columns")
    if args.steps < 1:
        raise UserError("--steps must be positive")
    nets = [load_reward_net(r) for r in args.runs]
    if not all(hasattr(net, "base") for net in nets):
        raise UserError("every run must be a preprocessed model (a PreprocessedRewardNet directory)")
    env_id = read_spec(args.runs[0]).get("env", {}).get("id")
    data = TransitionBatch.from_trajectories(
        load_rollouts(args.rollouts, env_id=env_id, obs_shape=nets[0].observation_space.shape)
    )
    if len(data) < args.steps:
        raise UserError(f"{args.rollouts}: only {len(data)} steps, fewer than --steps {args.steps}")
    data = data.select(np.arange(args.steps))
    panels = np.empty((len(args.rows), 1 + len(args.columns), args.steps))
    for i in range(len(args.rows)):
        row = nets[i * len(args.columns) : (i + 1) * len(args.columns)]
        panels[i, 0] = data.rewards(row[0].base)  # every column of a row starts from the same model
        for j, net in enumerate(row):
            panels[i, 1 + j] = data.rewards(net)
    starts = tuple(int(k) for k in np.flatnonzero(np.diff(data.episode_ids)) + 1)
    grid = CurveGrid(tuple(args.rows), ("unmodified", *args.columns), panels, starts, args.title)
    out = Path(args.out)
    save_curves_png_pdf(grid, out.with_name(out.name + ".png"), out.with_name(out.name + ".pdf"))
    save_curves_html(grid, out.with_name(out.name + ".html"))


if __name__ == "__main__":
    run(main)
