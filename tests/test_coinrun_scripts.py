"""CoinRun stage scripts: bad input fails with one `error:` line before any training; a tiny chain runs end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def script(name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, str(REPO / "scripts" / name), *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=900, check=False)
    if check and proc.returncode:
        raise AssertionError(f"{name} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def assert_one_line_error(proc: subprocess.CompletedProcess, message: str) -> None:
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr


def _npz(path: Path, **overrides) -> Path:
    data = {
        "obs": np.zeros((9, 64, 64, 3), np.uint8), "acts": np.zeros(7, np.int8), "rews": np.zeros(7, np.float32),
        "terminal": np.array([True, False]), "indices": np.array([4]),
        "infos": np.array([{}] * 7, dtype=object),
    }
    data.update(overrides)
    np.savez_compressed(path, **{k: v for k, v in data.items() if v is not None})
    return path


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"terminal": None}, "missing key(s) terminal"),
        ({"rews": np.zeros(6, np.float32)}, "7 actions but 6 rewards"),
        ({"obs": np.zeros((9, 64, 64, 3), np.float32)}, "uint8"),
    ],
)
def test_reward_training_refuses_bad_npz(tmp_path, overrides, message):
    proc = script("train_cnn_reward.py", "--rollouts", _npz(tmp_path / "bad.npz", **overrides), "--out",
                  tmp_path / "model", check=False)
    assert_one_line_error(proc, message)
    assert not (tmp_path / "model").exists()


def test_unavailable_device_and_unknown_setting_fail_before_training(tmp_path):
    import torch as th

    if not th.cuda.is_available():
        proc = script("train_cnn_reward.py", "--rollouts", _npz(tmp_path / "ok.npz"), "--settings",
                      '{"device": "cuda", "test_fraction": 0.0}', "--out", tmp_path / "model", check=False)
        assert_one_line_error(proc, "no CUDA GPU")
    proc = script("train_image_expert.py", "--env-id", "procgen:coinrun", "--settings", '{"total_timestep": 10}',
                  "--out", tmp_path / "e", check=False)
    assert_one_line_error(proc, "unknown setting(s) total_timestep")
    proc = script("train_image_expert.py", "--env-id", "CartPole-v1", "--out", tmp_path / "e", check=False)
    assert_one_line_error(proc, "no image env")
    assert not (tmp_path / "model").exists() and not (tmp_path / "e").exists()


@pytest.mark.slow
def test_tiny_chain_end_to_end(tmp_path):
    """expert -> video -> rollouts (+ .npz) -> CNN reward -> preprocessing -> filmstrip, at toy sizes."""
    expert = {"env": {"num_levels": 3}, "ppo": {"n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 1},
              "total_timesteps": 64, "eval_episodes": 2, "eval_n_envs": 2, "device": "cpu"}
    script("train_image_expert.py", "--env-id", "procgen:coinrun", "--settings", json.dumps(expert), "--out",
           tmp_path / "expert")
    metrics = json.loads((tmp_path / "expert/metrics.json").read_text())
    assert {"level_completion_rate", "random_level_completion_rate", "steps_per_second"} <= set(metrics)
    assert (tmp_path / "expert/learning_curve.png").is_file() and (tmp_path / "expert/learning_curve.html").is_file()
    script("record_image_video.py", "--expert", tmp_path / "expert", "--settings",
           '{"episodes": 1, "max_steps": 40}', "--out", tmp_path / "video.mp4")
    assert (tmp_path / "video.mp4").stat().st_size > 0 and (tmp_path / "video.gif").stat().st_size > 0
    rollouts = {"n_transitions": 1500, "n_envs": 4, "random_prob": 0.5, "npz": True}
    script("collect_image_rollouts.py", "--expert", tmp_path / "expert", "--settings", json.dumps(rollouts),
           "--out", tmp_path / "rollouts")
    reward = {"hid_channels": [4, 8], "epochs": 1, "batch_size": 64, "test_fraction": 0.2, "device": "cpu"}
    for source in ("rollouts", "rollouts/trajectories.npz"):  # our format, and the train-procgen layout
        script("train_cnn_reward.py", "--rollouts", tmp_path / source, "--settings", json.dumps(reward), "--out",
               tmp_path / f"model_{Path(source).stem}")
    m = json.loads((tmp_path / "model_rollouts/metrics.json").read_text())
    assert m["train_transitions"] + m["test_transitions"] == 1500
    pre = {"channels": [4], "features_dim": 8, "fit": {"batch_size": 64, "max_epochs": 1}, "device": "cpu"}
    script("preprocess_image_reward.py", "--model", tmp_path / "model_rollouts", "--rollouts", tmp_path / "rollouts",
           "--settings", json.dumps({**pre, "objectives": ["sparse_l1", "smooth_log"]}), "--out", tmp_path / "pre")
    for objective in ("sparse_l1", "smooth_log"):
        value = json.loads((tmp_path / "pre" / objective / "metrics.json").read_text())
        assert value["value"] <= value["value_initial"]
    script("plot_image_curves.py", "--rollouts", tmp_path / "rollouts", "--runs", tmp_path / "pre/sparse_l1",
           tmp_path / "pre/smooth_log", "--settings",
           '{"columns": ["sparse_l1", "smooth_log"], "completed_only": false, "episodes": 1}',
           "--out", tmp_path / "curves/coinrun")
    for ext in ("png", "pdf", "html"):
        assert (tmp_path / f"curves/coinrun.{ext}").stat().st_size > 0
