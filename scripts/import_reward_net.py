"""Convert a torch.save'd imitation reward net into a safe model directory (spec.json + model.safetensors).

MODEL may also be a model directory (spec.json + model.safetensors): it is checked and written again.

The .pt file is a pickle, so it is read only with --trust-pickle, and then only through an allow-list
unpickler (torch, imitation, gymnasium and numpy classes; nothing else is called). The import checks that
the converted model gives the original's rewards on sample transitions of the env and prints the largest
difference.

Example:
    python scripts/import_reward_net.py reward_net.pt --env my_package/MyEnv-v0 \
        --out results/reward_models/imported/my_model --trust-pickle
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reward_preprocessing.cli import run
from reward_preprocessing.jsonargs import json_object
from reward_preprocessing.rewards.imitation_import import copy_model_directory, import_imitation_reward_net


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a torch.save'd imitation RewardNet (.pt), or a model directory")
    parser.add_argument("--env", required=True, help="gymnasium id of the env the model belongs to")
    parser.add_argument("--env-kwargs", type=json_object, default={}, help="JSON object of env kwargs")
    parser.add_argument("--out", required=True, help="model directory to write")
    parser.add_argument("--trust-pickle", action="store_true",
                        help="read the pickle (through the allow-list unpickler); needed for any .pt file")
    parser.add_argument("--samples", type=int, default=512, help="sample transitions for the reward check")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sample transitions")
    args = parser.parse_args(argv)

    if Path(args.model).is_dir():
        copy_model_directory(args.model, args.out, args.env)
        return
    import_imitation_reward_net(
        args.model, args.out, args.env, args.env_kwargs, trust_pickle=args.trust_pickle,
        n_samples=args.samples, seed=args.seed, progress=lambda line: print(line, file=sys.stderr),
    )


if __name__ == "__main__":
    run(main)
