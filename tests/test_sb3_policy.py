"""Your own stable-baselines3 policy zip: read through the allow-list, never with SB3's own (cloudpickle) load."""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest
import torch as th
from stable_baselines3 import DQN, PPO

from reward_preprocessing.data.rollouts import load_rollouts, read_rollout_meta
from reward_preprocessing.errors import ArtifactError, UserError
from reward_preprocessing.experts.sb3_policy import load_sb3_policy
from tests.data.make_sb3_policy import MOUNTAIN_CAR, write_policy
from tests.test_safe_pickle import payloads

REPO_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = REPO_ROOT / "tests" / "data" / "sb3" / "mountain_car_ppo.zip"


def _spaces(env_id: str = MOUNTAIN_CAR) -> tuple[gym.Space, gym.Space]:
    env = gym.make(env_id)
    spaces = env.observation_space, env.action_space
    env.close()
    return spaces


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict[str, Path]:
    """A PPO and a DQN policy written here with SB3's own save, and the one the repository ships."""
    root = tmp_path_factory.mktemp("sb3")
    out = {"shipped": SHIPPED}
    for algo in ("ppo", "dqn"):
        out[algo] = root / f"{algo}.zip"
        write_policy(out[algo], algo, steps=128)
    return out


def _observations() -> np.ndarray:
    return np.random.default_rng(0).uniform([-1.2, -0.07], [0.6, 0.07], size=(256, 2)).astype(np.float32)


@pytest.mark.parametrize("name", ["shipped", "ppo", "dqn"])
def test_policy_acts_as_sb3_loads_it(zips, name):
    policy = load_sb3_policy(zips[name], *_spaces(), trust_pickle=True)
    reference = (DQN if name == "dqn" else PPO).load(zips[name], device="cpu").policy
    obs = _observations()
    ours, _ = policy.predict(obs, deterministic=True)
    theirs, _ = reference.predict(obs, deterministic=True)
    np.testing.assert_array_equal(ours, theirs)
    for key, tensor in reference.state_dict().items():
        assert th.equal(policy.state_dict()[key], tensor), key


def test_without_trust_it_refuses_in_one_line(zips):
    with pytest.raises(UserError, match="--trust-pickle") as info:
        load_sb3_policy(zips["ppo"], *_spaces())
    assert "\n" not in str(info.value)


def _rewrite(src: Path, dst: Path, data: dict | None = None, members: dict[str, bytes] | None = None) -> Path:
    """A copy of an SB3 zip with its ``data`` JSON and/or other members replaced."""
    with zipfile.ZipFile(src) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    if data is not None:
        contents["data"] = json.dumps(data).encode()
    contents.update(members or {})
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in contents.items():
            archive.writestr(name, content)
    return dst


def _data(path: Path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("data"))


def _serialized(obj: object) -> dict:
    return {":type:": str(type(obj)), ":serialized:": base64.b64encode(cloudpickle.dumps(obj)).decode()}


@pytest.mark.parametrize("kind", ["os.system", "builtins.eval", "subprocess.Popen"])
@pytest.mark.parametrize("entry", ["policy_class", "observation_space", "policy_kwargs"])
def test_payload_in_an_entry_it_reads_is_refused_by_name(zips, tmp_path, kind, entry):
    marker = tmp_path / "marker"
    data = {**_data(zips["ppo"]), entry: _serialized(payloads(marker)[kind])}
    evil = _rewrite(zips["ppo"], tmp_path / "evil.zip", data)
    with pytest.raises(ArtifactError, match="refusing") as info:
        load_sb3_policy(evil, *_spaces(), trust_pickle=True)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_payload_in_an_entry_it_never_reads_stays_unread(zips, tmp_path):
    """Schedules and training state are not needed to act; SB3's load would run this, ours never opens it."""
    marker = tmp_path / "marker"
    data = {**_data(zips["ppo"]), "lr_schedule": _serialized(payloads(marker)["os.system"])}
    evil = _rewrite(zips["ppo"], tmp_path / "evil.zip", data)
    load_sb3_policy(evil, *_spaces(), trust_pickle=True)
    assert not marker.exists()


def test_payload_in_the_weights_is_refused(zips, tmp_path):
    marker = tmp_path / "marker"
    buffer = io.BytesIO()
    th.save({"mlp_extractor.policy_net.0.weight": payloads(marker)["os.system"]}, buffer)
    evil = _rewrite(zips["ppo"], tmp_path / "evil.zip", members={"policy.pth": buffer.getvalue()})
    with pytest.raises(ArtifactError, match="refusing"):
        load_sb3_policy(evil, *_spaces(), trust_pickle=True)
    assert not marker.exists()


def test_layers_the_file_cannot_hold_are_refused_before_building(zips, tmp_path):
    data = _data(zips["ppo"])
    data["policy_kwargs"] = {"net_arch": [100_000, 100_000]}  # 10^10 weights from a 26 kB file
    big = _rewrite(zips["ppo"], tmp_path / "big.zip", data)
    with pytest.raises(ArtifactError, match="needs .* weights, the file holds"):
        load_sb3_policy(big, *_spaces(), trust_pickle=True)


def test_weights_of_another_shape_are_refused(zips, tmp_path):
    data = _data(zips["ppo"])
    data["policy_kwargs"] = {"net_arch": [8]}
    other = _rewrite(zips["ppo"], tmp_path / "other.zip", data)
    with pytest.raises(ArtifactError, match="policy.pth"):
        load_sb3_policy(other, *_spaces(), trust_pickle=True)


def test_a_policy_of_another_env_is_refused(zips):
    with pytest.raises(UserError, match="observation space"):
        load_sb3_policy(zips["ppo"], *_spaces("CartPole-v1"), trust_pickle=True)


@pytest.mark.parametrize("content", [None, b"not a zip", "empty zip"])
def test_missing_or_invalid_file_is_one_line(tmp_path, content):
    path = tmp_path / "policy.zip"
    if content == "empty zip":
        zipfile.ZipFile(path, "w").close()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(ArtifactError) as info:
        load_sb3_policy(path, *_spaces(), trust_pickle=True)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def test_collect_rollouts_script_with_a_policy(zips, tmp_path):
    out = tmp_path / "rollouts"
    command = [sys.executable, str(REPO_ROOT / "scripts" / "collect_rollouts.py"), "--policy", str(zips["shipped"]),
               "--env", MOUNTAIN_CAR, "--settings", '{"min_timesteps": 300}', "--out", str(out)]
    env = {"PYTHONPATH": str(REPO_ROOT), "PATH": "/usr/bin:/bin"}
    refused = subprocess.run(command, capture_output=True, text=True, env=env)
    errors = [line for line in refused.stderr.splitlines() if line.startswith("error:")]
    assert refused.returncode == 2 and len(errors) == 1 and "--trust-pickle" in errors[0]
    assert "Traceback" not in refused.stderr and not out.exists()
    subprocess.run([*command, "--trust-pickle"], check=True, capture_output=True, env=env)
    trajectories = load_rollouts(out, env_id=MOUNTAIN_CAR)
    assert sum(len(t.acts) for t in trajectories) >= 300
    assert read_rollout_meta(out)["policy"] == str(zips["shipped"])
