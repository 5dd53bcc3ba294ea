"""Write a tiny stable-baselines3 PPO policy for MountainCar, as a user's own ``model.zip`` would be.

The tests call `write_policy` at run time; tests/data/sb3/mountain_car_ppo.zip (the `models:` example of
config/models_example.yaml) was written by running this file:

    PYTHONPATH=. python tests/data/make_sb3_policy.py tests/data/sb3/mountain_car_ppo.zip

It is saved with SB3's own ``model.save`` (cloudpickled entries and all), not with the project's writer.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stable_baselines3 import DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import Logger

import reward_preprocessing.envs  # noqa: F401  (registers the envs)

MOUNTAIN_CAR = "reward_preprocessing/MountainCar-v0"


def write_policy(path: str | Path, algo: str = "ppo", steps: int = 128) -> BaseAlgorithm:
    """Train `algo` (ppo or dqn) on MountainCar for `steps` steps (seeded, CPU) and save it to `path`."""
    if algo == "ppo":
        model: BaseAlgorithm = PPO("MlpPolicy", MOUNTAIN_CAR, n_steps=64, batch_size=64, n_epochs=1, seed=0,
                                   policy_kwargs={"net_arch": [16]}, device="cpu")
    else:
        model = DQN("MlpPolicy", MOUNTAIN_CAR, learning_starts=32, buffer_size=256, seed=0,
                    policy_kwargs={"net_arch": [16]}, device="cpu")
    model.set_logger(Logger(folder=None, output_formats=[]))  # else SB3 leaves an empty /tmp/SB3-<time>
    model.learn(steps)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return model


if __name__ == "__main__":
    write_policy(sys.argv[1])
