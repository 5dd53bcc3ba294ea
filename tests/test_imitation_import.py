"""Importing torch.save'd imitation reward nets, written under numpy 1 (here) and numpy 2 (shipped files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch as th

from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.rewards.imitation_import import import_imitation_reward_net
from reward_preprocessing.rewards.imitation_nets import ImitationRewardNet
from reward_preprocessing.rewards.io import load_reward_net, read_spec
from reward_preprocessing.rewards.safe_pickle import torch_load
from tests.data import make_imitation_fixtures as fixtures

NUMPY2_DIR = Path(__file__).parent / "data" / "imitation_numpy2"
IMAGE_ENV = "reward_preprocessing_tests/Image-v0"


class ImageEnv(gym.Env):
    """A CoinRun-shaped env (64x64 RGB, 15 actions) of random frames, for importing image models."""

    def __init__(self) -> None:
        self.observation_space, self.action_space = fixtures.image_spaces()

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


if IMAGE_ENV not in gym.registry:
    gym.register(IMAGE_ENV, entry_point=ImageEnv, max_episode_steps=20)


def env_of(name: str, manifest_env: str) -> str:
    return IMAGE_ENV if manifest_env == "image" else manifest_env


@pytest.fixture(scope="module")
def numpy1_fixtures(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    out = tmp_path_factory.mktemp("imitation_numpy1")
    return out, fixtures.write_fixtures(out)


def _check_import(directory: Path, name: str, env_id: str, tmp_path: Path) -> tuple[float, float]:
    report = import_imitation_reward_net(directory / f"{name}.pt", tmp_path / name, env_id, trust_pickle=True,
                                         n_samples=64)
    assert report.max_abs_diff == 0.0 and report.max_abs_diff_processed == 0.0
    model = load_reward_net(tmp_path / name)
    assert isinstance(model, ImitationRewardNet)
    expected = np.load(directory / f"{name}.expected.npz")
    batch = expected["obs"], expected["acts"], expected["next_obs"], expected["dones"]
    got = model.predict(*batch)
    got_processed = model.predict_processed(*batch)
    # The file's own rewards, computed where it was written, against the model loaded here without any pickle.
    return float(np.max(np.abs(got - expected["rewards"]))), float(
        np.max(np.abs(got_processed - expected["rewards_processed"])))


@pytest.mark.parametrize("name", ["mountain_car_basic", "mountain_car_shaped", "mountain_car_normalized",
                                  "maze_basic", "cnn_shaped"])
def test_import_numpy1_model_gives_identical_rewards(numpy1_fixtures, name, tmp_path):
    directory, envs = numpy1_fixtures
    diff, diff_processed = _check_import(directory, name, env_of(name, envs[name]), tmp_path)
    assert diff == 0.0 and diff_processed == 0.0


@pytest.mark.parametrize("name", ["mountain_car_basic", "mountain_car_shaped", "mountain_car_normalized",
                                  "maze_basic", "cnn_shaped"])
def test_import_numpy2_model_gives_its_rewards(name, tmp_path):
    manifest = json.loads((NUMPY2_DIR / "manifest.json").read_text())
    assert manifest["numpy"].startswith("2.")
    diff, diff_processed = _check_import(NUMPY2_DIR, name, env_of(name, manifest["envs"][name]), tmp_path)
    # Written by another torch build on another numpy: the same float32 operations, so the same values up to
    # the last bit of float32 (observed: 0 for the MLPs).
    assert diff <= 1e-6 and diff_processed <= 1e-6


def test_numpy2_pickle_needs_the_restricted_unpickler():
    """Plain torch.load under numpy 1 fails on numpy 2's bit-generator pickle; ours rebuilds it exactly."""
    path = NUMPY2_DIR / "mountain_car_basic.pt"
    with pytest.raises(ValueError, match="not a known BitGenerator"):
        th.load(path, weights_only=False)
    net = torch_load(path)
    draws = np.load(NUMPY2_DIR / "mountain_car_basic.expected.npz")["obs_space_draws"]
    assert np.array_equal(net.observation_space.np_random.random(4), draws)


def test_normalization_statistics_are_kept(numpy1_fixtures, tmp_path):
    directory, envs = numpy1_fixtures
    original = torch_load(directory / "mountain_car_normalized.pt")
    import_imitation_reward_net(directory / "mountain_car_normalized.pt", tmp_path / "m", envs[
        "mountain_car_normalized"], trust_pickle=True, n_samples=16)
    model = load_reward_net(tmp_path / "m")
    layer = original.normalize_output_layer
    assert int(layer.count) > 0 and not th.equal(layer.running_var, th.ones(1))
    assert th.equal(model.net.normalize_output_layer.running_mean, layer.running_mean)
    assert th.equal(model.net.normalize_output_layer.running_var, layer.running_var)
    # predicting never moves the statistics
    batch = np.load(directory / "mountain_car_normalized.expected.npz")
    model.predict_processed(batch["obs"], batch["acts"], batch["next_obs"], batch["dones"])
    assert th.equal(model.net.normalize_output_layer.running_mean, layer.running_mean)
    spec = read_spec(tmp_path / "m")
    assert spec["metadata"]["import_check"]["max_abs_diff"] == 0.0
    assert spec["kwargs"]["net"]["normalize_output_layer"]["type"] == "RunningNorm"


def test_import_refuses_without_trust(numpy1_fixtures, tmp_path):
    directory, envs = numpy1_fixtures
    with pytest.raises(UserError, match="--trust-pickle"):
        import_imitation_reward_net(directory / "maze_basic.pt", tmp_path / "m", envs["maze_basic"])
    assert not (tmp_path / "m").exists()


def test_import_refuses_wrong_env(numpy1_fixtures, tmp_path):
    directory, _ = numpy1_fixtures
    with pytest.raises(UserError, match="space"):
        import_imitation_reward_net(directory / "maze_basic.pt", tmp_path / "m", "reward_preprocessing/MountainCar-v0",
                                    trust_pickle=True)
    assert not (tmp_path / "m").exists()


def test_import_refuses_non_reward_net(tmp_path):
    th.save(th.nn.Linear(2, 1), tmp_path / "linear.pt")
    with pytest.raises(ArtifactError, match="not an imitation RewardNet"):
        import_imitation_reward_net(tmp_path / "linear.pt", tmp_path / "m", fixtures.MAZE, trust_pickle=True)


def test_import_script(numpy1_fixtures, tmp_path, repo_root):
    directory, envs = numpy1_fixtures
    script = repo_root / "scripts" / "import_reward_net.py"
    cmd = [sys.executable, str(script), str(directory / "mountain_car_shaped.pt"), "--env",
           envs["mountain_car_shaped"], "--out", str(tmp_path / "m")]
    refused = subprocess.run(cmd, capture_output=True, text=True, cwd=repo_root)
    assert refused.returncode == 2
    assert refused.stderr.strip().count("\n") == 0 and "--trust-pickle" in refused.stderr
    done = subprocess.run([*cmd, "--trust-pickle"], capture_output=True, text=True, cwd=repo_root)
    assert done.returncode == 0, done.stderr
    assert "max |diff| 0," in done.stderr
    assert (tmp_path / "m" / "model.safetensors").is_file()
