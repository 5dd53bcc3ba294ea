"""Learn a tabular maze reward model from synthetic preferences (imitation's preference comparisons).

Writes a reward-model directory (model.safetensors + spec.json) with metrics.json inside:
correlation with the shaped ground truth, policy agreement, wall time and the settings used.

Example:
    python scripts/train_preferences.py --maze maze10 --reward goal --shaping dense --preset fast \
        --out results/reward_models/learned/maze10_goal_dense
"""

from __future__ import annotations

import argparse
import dataclasses
import logging

from reward_preprocessing.cli import run
from reward_preprocessing.envs.maze import add_maze_arguments
from reward_preprocessing.training.preferences import (
    PRESETS,
    PreferenceSettings,
    check_request,
    preference_settings,
    save_preference_run,
    train_preference_model,
)

log = logging.getLogger("train_preferences")


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


PARSERS = {"int": int, "float": float, "str": str, "bool": _bool}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_maze_arguments(parser)
    parser.add_argument("--preset", default="fast", help=f"base settings: {', '.join(PRESETS)}")
    overrides = parser.add_argument_group("settings (override the preset; see PreferenceSettings)")
    for field in dataclasses.fields(PreferenceSettings):
        overrides.add_argument(f"--{field.name.replace('_', '-')}", dest=field.name, type=PARSERS[field.type])
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--out", required=True, help="model directory to write")
    args = parser.parse_args(argv)

    names = {f.name for f in dataclasses.fields(PreferenceSettings)}
    settings = preference_settings(args.preset, **{k: v for k, v in vars(args).items() if k in names and v is not None})
    check_request(args.maze, args.reward, args.shaping, args.gamma, settings)
    result = train_preference_model(
        args.maze, args.reward, args.shaping, settings, args.gamma, args.shaping_seed, progress=not args.quiet
    )
    save_preference_run(result, args.out)
    m = result.metrics
    log.info(
        "%s: correlation %.3f, policy agreement %.3f, return ratio %.3f in %.1fs",
        args.out,
        m["correlation"],
        m["policy_agreement"],
        m["return_ratio"],
        m["seconds"],
    )


if __name__ == "__main__":
    run(main)
