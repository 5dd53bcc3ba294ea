"""Every dependency the pipeline relies on imports in this environment (issue 2: install)."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "numpy",
    "scipy",
    "highspy",
    "torch",
    "torchvision",
    "gymnasium",
    "gym",
    "stable_baselines3",
    "imitation",
    "imitation.algorithms.preference_comparisons",
    "procgen",
    "gym3",
    "lucent.optvis.render",
    "kornia",
    "snakemake",
    "snakemake_executor_plugin_slurm",
    "plotly",
    "matplotlib",
    "yaml",
    "jsonschema",
    "safetensors",
    "tqdm",
    "pytest",
    "hypothesis",
    "reward_preprocessing.envs",
    "reward_preprocessing.rewards",
    "sklearn.decomposition",
    "reward_preprocessing.interpret.run",
]


@pytest.mark.parametrize("name", MODULES)
def test_imports(name: str) -> None:
    importlib.import_module(name)


def test_torch_and_torchvision_work_together() -> None:
    """The two must come from one matching build, or torchvision's C++ ops fail to register."""
    import torch
    import torchvision

    boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
    keep = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
    assert keep.tolist() == [0]
    normalize = torchvision.transforms.Normalize(mean=[0.5], std=[0.5])
    assert torch.allclose(normalize(torch.ones(1, 2, 2)), torch.ones(1, 2, 2))


def test_procgen_coinrun_steps() -> None:
    """CoinRun (procgen-mirror) creates and steps: the later CoinRun issues depend on it."""
    import gym

    env = gym.make("procgen:procgen-coinrun-v0", start_level=0, num_levels=1)
    obs = env.reset()
    obs = obs[0] if isinstance(obs, tuple) else obs
    assert obs.shape == (64, 64, 3)
    env.step(env.action_space.sample())
    env.close()
