"""What does an image reward model respond to? Feature visualization, NMF, dataset examples and attribution.

Example:
    python scripts/interpret.py --model results/reward_models/learned/{env}_unshaped --rollouts rollouts.npz \
        --out results/interpret/{env} --settings '{"steps": 512, "jitter": 8}'
    python scripts/interpret.py --model results/reward_models/learned/{env}_unshaped --list-layers
writes overview.png, features/NN.png, features.json and report.html (self-contained) into --out.
"""

from __future__ import annotations

import argparse

from reward_preprocessing.artifacts import atomic_dir
from reward_preprocessing.cli import run
from reward_preprocessing.devices import set_threads
from reward_preprocessing.errors import UserError
from reward_preprocessing.interpret.layers import format_layers, list_layers
from reward_preprocessing.interpret.run import InterpretSettings, interpret_model, prepare
from reward_preprocessing.settings import add_settings_argument, parse_settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="reward-model directory (model.safetensors + spec.json)")
    parser.add_argument("--rollouts", help="imitation rollout directory or train-procgen .npz")
    parser.add_argument("--out", help="output directory (replaced atomically)")
    parser.add_argument("--list-layers", action="store_true", help="print the model's layers and exit")
    parser.add_argument("--title", default="", help="report title (default: model class and layer)")
    parser.add_argument("--threads", type=int, default=1)
    add_settings_argument(parser, InterpretSettings)
    args = parser.parse_args(argv)
    settings = parse_settings(InterpretSettings, args.settings)
    set_threads(args.threads)
    if args.list_layers:
        print(format_layers(list_layers(prepare(args.model, InterpretSettings(device=settings.device)).model)))
        return
    if not args.rollouts or not args.out:
        raise UserError("--rollouts and --out are required (or pass --list-layers)")
    with atomic_dir(args.out) as tmp:
        interpret_model(args.model, args.rollouts, tmp, settings, title=args.title)


if __name__ == "__main__":
    run(main)
