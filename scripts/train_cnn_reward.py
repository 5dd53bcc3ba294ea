"""Train a CNN reward model (obs, next obs → reward per action) on image rollouts streamed from disk.

--rollouts takes a rollout directory or a train-procgen .npz (e.g. from its render.py --traj_path). Writes the
model (model.safetensors + spec.json), metrics.json (train/test MSE, the MSE of predicting the training mean,
their ratio, precision/recall of reward > 0), loss_curve.csv and loss_curve.{png,html}.

Example:
    python scripts/train_cnn_reward.py --rollouts results/rollouts/{env} --settings '{"epochs": 5}' \
        --out results/reward_models/learned/{env}_unshaped
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from reward_preprocessing.artifacts import atomic_dir, write_csv, write_json
from reward_preprocessing.cli import run
from reward_preprocessing.data.image_rollouts import open_image_rollouts
from reward_preprocessing.devices import set_threads
from reward_preprocessing.envs.procgen import ENV_ID
from reward_preprocessing.plotting.training_curves import reward_loss_panels, save_html, save_png
from reward_preprocessing.rewards.io import write_reward_net
from reward_preprocessing.settings import add_settings_argument, parse_settings, to_mapping
from reward_preprocessing.training.image_reward import CnnRewardSettings, train_cnn_reward

log = logging.getLogger("train_cnn_reward")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, CnnRewardSettings)
    parser.add_argument("--rollouts", required=True, type=Path, help="rollout directory or train-procgen .npz")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: settings)")
    parser.add_argument("--checkpoints", type=Path, default=None, help="directory for per-epoch checkpoints")
    parser.add_argument("--out", required=True, type=Path, help="model directory to write")
    args = parser.parse_args(argv)

    settings = parse_settings(CnnRewardSettings, args.settings)
    if args.threads is not None:
        settings = dataclasses.replace(settings, threads=args.threads)
    set_threads(settings.threads)
    rollouts = open_image_rollouts(args.rollouts)
    if args.checkpoints is not None:
        args.checkpoints.mkdir(parents=True, exist_ok=True)
    trained = train_cnn_reward(rollouts, settings, args.checkpoints)
    env = rollouts.meta.get("env", {"id": ENV_ID, "kwargs": {}})  # a train-procgen .npz names no env
    metrics = {**trained.metrics, "rollouts": str(args.rollouts), "settings": to_mapping(settings)}
    with atomic_dir(args.out) as tmp:
        write_reward_net(trained.net, tmp, env["id"], env.get("kwargs", {}), metadata={"rollouts": str(args.rollouts)})
        write_json(tmp / "metrics.json", metrics)
        columns = ("epoch", "train_loss", "test_mse", "seconds")
        write_csv(tmp / "loss_curve.csv", columns, ([row.get(c, "") for c in columns] for row in trained.curve))
        panels = reward_loss_panels(trained.curve, trained.metrics.get("test_baseline_mse"))
        save_png(panels, tmp / "loss_curve.png", "CNN reward model")
        save_html(panels, tmp / "loss_curve.html", "CNN reward model")
    keys = ("test_mse", "test_baseline_mse", "test_mse_ratio", "test_precision", "test_recall")
    log.info("%s: %s", args.out, ", ".join(f"{k} {trained.metrics.get(k)}" for k in keys))

if __name__ == "__main__":
    run(main)
