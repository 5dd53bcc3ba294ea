"""Learn a tabular maze reward model from synthetic preferences (imitation's preference comparisons).

Writes a reward-model directory (model.safetensors + spec.json) with metrics.json inside:
correlation with the shaped ground truth, policy agreement, wall time and the settings used.

Example:
    python scripts/train_preferences.py \
        --settings '{"maze": "maze10", "reward": "goal", "shaping": "dense", "preset": "fast"}' \
        --out results/reward_models/learned/maze10_goal_dense
"""

from __future__ import annotations

import argparse
import logging

from reward_preprocessing.cli import run
from reward_preprocessing.settings import add_settings_argument, parse_settings
from reward_preprocessing.training.preference_settings import PreferenceStageSettings
from reward_preprocessing.training.preferences import check_request, save_preference_run, train_preference_model

log = logging.getLogger("train_preferences")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_settings_argument(parser, PreferenceStageSettings)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--out", required=True, help="model directory to write")
    args = parser.parse_args(argv)

    stage = parse_settings(PreferenceStageSettings, args.settings)
    settings = stage.run_settings()
    check_request(stage.maze, stage.reward, stage.shaping, stage.gamma, settings)
    result = train_preference_model(stage.maze, stage.reward, stage.shaping, settings, stage.gamma,
                                    stage.shaping_seed, progress=not args.quiet, device=stage.device)
    save_preference_run(result, args.out)
    m = result.metrics
    log.info("%s: correlation %.3f, policy agreement %.3f, return ratio %.3f in %.1fs", args.out, m["correlation"],
             m["policy_agreement"], m["return_ratio"], m["seconds"])


if __name__ == "__main__":
    run(main)
