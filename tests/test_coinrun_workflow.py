"""CoinRun as an `envs:` entry of kind image: the rules plan it (and the paper scale), and a tiny run finishes."""

from __future__ import annotations

import copy
import json
import re
import shutil

import pytest
import yaml

from tests.workflow_helpers import REPO_ROOT, TINY_CONFIG, copy_workflow, snakemake

TARGET = "coinrun"  # the entry's named target: its curves, expert video and the interpretation


def tiny_coinrun_config() -> dict:
    full = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())
    entry = copy.deepcopy(full["envs"]["coinrun"])
    entry["kwargs"] = {"num_levels": 3, "start_level": 0, "distribution_mode": "easy"}
    entry["expert"].update(total_timesteps=64, ppo={"n_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 1},
                           eval_episodes=2, eval_n_envs=2, device="cpu")
    entry["rollouts"].update(n_transitions=1200, n_envs=4, curve_timesteps=300)
    entry["reward_model"].update(hid_channels=[4, 8], epochs=2, balanced_epochs=1, batch_size=64,
                                 test_fraction=0.2, device="cpu")
    entry["preprocess"].update(channels=[4], features_dim=8, max_transitions=600, device="cpu")
    entry["preprocess"]["fit"].update(max_epochs=1)
    experts = {**full["experts"], "video_episodes": 1}
    return {**TINY_CONFIG, "objectives": ["sparse_l1", "smooth_log"], "experts": experts,
            "envs": {"coinrun": entry}}


def _jobs(proc) -> dict[str, int]:
    table = (proc.stdout + proc.stderr).split("Job stats:")[1]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


def test_dry_run_plans_coinrun_at_both_scales(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_coinrun_config()))
    expected = {"train_expert": 1, "collect_rollouts": 1, "curve_rollouts": 1, "env_reward_model": 1,
                "preprocess_neural": 1, "reward_curves": 1, "image_expert_video": 1, "plotly_js": 1, "interpret": 1,
                "coinrun": 1, "total": 10}
    proc = snakemake(REPO_ROOT, "-n", "--forceall", TARGET, "--configfile", str(path))
    assert _jobs(proc) == expected
    paper = snakemake(REPO_ROOT, "-n", "--forceall", "-p", TARGET, "--configfile", str(REPO_ROOT / "config/paper.yaml"))
    assert _jobs(paper) == expected
    text = paper.stdout + paper.stderr
    assert "scripts/train_image_expert.py" in text and '"n_envs":256' in text and '"total_timesteps":200000000' in text
    # the default target leaves the laptop-scale CoinRun chain out
    default = snakemake(REPO_ROOT, "-n", "--forceall")
    assert "train_image_expert" not in default.stdout + default.stderr


@pytest.mark.slow
def test_tiny_coinrun_run(tmp_path):
    work = copy_workflow(tmp_path, tiny_coinrun_config())
    for extra in ("environment.yml",):
        if (REPO_ROOT / extra).exists() and not (work / extra).exists():
            shutil.copy2(REPO_ROOT / extra, work / extra)
    snakemake(work, TARGET)
    for ext in ("png", "pdf", "html"):
        assert (work / "results" / "curves" / f"coinrun.{ext}").stat().st_size > 1000
    assert (work / "results" / "videos" / "coinrun.mp4").stat().st_size > 1000
    assert (work / "results" / "videos" / "coinrun.gif").stat().st_size > 1000
    expert = json.loads((work / "results/experts/coinrun/metrics.json").read_text())
    assert expert["episodes"] == 2 and "random_level_completion_rate" in expert
    reward = json.loads((work / "results/reward_models/learned/coinrun_unshaped/metrics.json").read_text())
    assert reward["test_trajectories"] >= 1 and reward["train_transitions"] + reward["test_transitions"] == 1200
    pp = json.loads((work / "results/preprocessed/learned/coinrun_unshaped/smooth_log/metrics.json").read_text())
    assert pp["value"] <= pp["value_initial"] and pp["transitions"] <= 600
    proc = snakemake(work, "-n", TARGET)
    assert "Nothing to be done" in proc.stdout + proc.stderr
