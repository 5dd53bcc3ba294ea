"""Your own reward model through the pipeline (config `models:`): import, preprocess, plot."""

from __future__ import annotations

import copy
import json
import shutil

import numpy as np
import pytest
import yaml

from reward_preprocessing.rewards.frames import FrameRewardNet
from reward_preprocessing.rewards.imitation_nets import ImitationRewardNet
from reward_preprocessing.rewards.io import load_reward_net
from reward_preprocessing.rewards.shaped import PreprocessedRewardNet
from tests.safety_helpers import fresh
from tests.workflow_helpers import REPO_ROOT, TINY_CONFIG
from tests.workflow_runs import copy_with_profiles, planned_jobs, snakemake

FIXTURES = "tests/data/imitation_numpy2"
POLICY = "tests/data/sb3/mountain_car_ppo.zip"


def tiny_envs() -> dict:
    """The configured envs at a scale a test can run: MountainCar with short rollouts and a small basis."""
    envs = copy.deepcopy(yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())["envs"])
    envs["mountain_car"]["rollouts"].update(min_timesteps=400, curve_timesteps=200)
    envs["mountain_car"]["preprocess"]["features"]["components"] = [{"kind": "polynomial", "degree": 3}]
    return envs


def workflow_with_models(tmp_path, models: dict):
    work = copy_with_profiles(fresh(tmp_path / "w"), {**TINY_CONFIG, "envs": tiny_envs(), "models": models})
    shutil.copytree(REPO_ROOT / FIXTURES, work / FIXTURES)
    (work / POLICY).parent.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / POLICY, work / POLICY)
    return work


@pytest.mark.slow
def test_imported_maze_model_is_preprocessed_and_plotted(tmp_path):
    work = workflow_with_models(tmp_path, {"mine": {"path": f"{FIXTURES}/maze_basic.pt", "trust_pickle": True,
                                                    "env": "maze4"}})
    snakemake(work, "models")
    model = load_reward_net(work / "results/models/mine/model")
    assert isinstance(model, ImitationRewardNet)
    for objective in TINY_CONFIG["objectives"]:
        assert (work / f"results/models/mine/preprocessed/{objective}/rewards.csv").is_file()
    for ext in ("png", "pdf", "html"):
        assert (work / f"results/models/mine/figure.{ext}").stat().st_size > 0
    # nothing left to do on a rerun
    rerun = snakemake(work, "models")
    assert "Nothing to be done" in rerun.stdout + rerun.stderr


@pytest.mark.slow
def test_pickle_without_trust_stops_with_one_line(tmp_path):
    work = workflow_with_models(tmp_path, {"mine": {"path": f"{FIXTURES}/maze_basic.pt", "env": "maze4"}})
    proc = snakemake(work, "results/models/mine/model", check=False)
    assert proc.returncode != 0
    log = (work / "results/logs/models/mine_import.log").read_text()
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "--trust-pickle" in errors[0] and "Traceback" not in log
    assert not (work / "results/models/mine/model").exists()


def test_unknown_model_env_is_a_config_error(tmp_path):
    work = workflow_with_models(tmp_path, {"mine": {"path": f"{FIXTURES}/maze_basic.pt", "env": "atari"}})
    proc = snakemake(work, "-n", "models", check=False)
    assert proc.returncode != 0 and "invalid config at models.mine.env" in proc.stdout + proc.stderr


POLICY_MODEL = {"path": f"{FIXTURES}/mountain_car_shaped.pt", "trust_pickle": True, "env": "mountain_car",
                "rollouts": {"policy": POLICY, "trust_pickle": True}}


def test_policy_model_collects_its_own_rollouts_without_the_env_expert(tmp_path):
    work = workflow_with_models(tmp_path, {"mine": POLICY_MODEL})
    proc = snakemake(work, "-n", "-p", "models")
    out = proc.stdout + proc.stderr
    assert planned_jobs(out) == {"import_model": 1, "model_rollouts": 1, "model_curve_rollouts": 1,
                                 "preprocess_model": 1, "plot_model": 1, "plotly_js": 1, "models": 1}
    assert f"scripts/collect_rollouts.py --policy {POLICY} --env reward_preprocessing/MountainCar-v0" in out
    assert "--trust-pickle" in out and "--curve --out results/models/mine/rollouts_curve" in out
    assert "--rollouts results/models/mine/rollouts_curve" in out  # the figure is drawn along the policy's rollout


@pytest.mark.parametrize(("rollouts", "message"), [
    ({"policy": "missing.zip", "trust_pickle": True}, "models.mine.rollouts.policy: no such file or directory"),
    ({"policy": POLICY}, "models.mine.rollouts: a stable-baselines3 zip holds pickles; set rollouts.trust_pickle"),
    ({"policy": POLICY, "dataset": f"{FIXTURES}/rollouts.pkl", "trust_pickle": True},
     "a dataset or a policy, not both"),
    ({"policy": 3}, "models.mine.rollouts.policy: 3 is not of type 'string'"),
])
def test_bad_policy_entries_are_one_line_config_errors(tmp_path, rollouts, message):
    work = workflow_with_models(tmp_path, {"mine": {**POLICY_MODEL, "rollouts": rollouts}})
    proc = snakemake(work, "-n", "models", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and message in out and "Traceback" not in out


@pytest.mark.slow
def test_policy_model_runs_end_to_end(tmp_path):
    work = workflow_with_models(tmp_path, {"mine": POLICY_MODEL})
    snakemake(work, "models")
    assert (work / "results/models/mine/rollouts/rollouts.json").is_file()
    for objective in TINY_CONFIG["objectives"]:
        assert (work / f"results/models/mine/preprocessed/{objective}/metrics.json").is_file()
    for ext in ("png", "pdf", "html"):
        assert (work / f"results/models/mine/figure.{ext}").stat().st_size > 0
    assert not (work / "results/experts").exists()  # the env's own expert was never trained


def test_image_model_is_preprocessed_and_interpreted_instead_of_curves(tmp_path):
    model = {"path": f"{FIXTURES}/cnn_shaped.pt", "trust_pickle": True, "env": "coinrun"}
    work = workflow_with_models(tmp_path, {"mine": model})
    proc = snakemake(work, "-n", "-p", "models")
    out = proc.stdout + proc.stderr
    jobs = planned_jobs(out)
    assert jobs["interpret_model"] == 1 and jobs["preprocess_model"] == 1 and "plot_model" not in jobs
    assert ("scripts/interpret.py --model results/models/mine/model --rollouts results/rollouts/coinrun"
            " --out results/models/mine/interpret") in out
    for name in ("overview.png", "report.html", "features.json"):
        assert f"results/models/mine/interpret/{name}" in out
    # the imported imitation CnnRewardNet goes through the image env's preprocess script
    assert ("scripts/preprocess_image_reward.py --model results/models/mine/model --rollouts results/rollouts/coinrun"
            in out)
    for objective in TINY_CONFIG["objectives"]:
        assert f"results/models/mine/preprocessed/{objective}" in out


def test_image_model_with_a_policy_is_a_config_error(tmp_path):
    model = {"path": f"{FIXTURES}/cnn_shaped.pt", "trust_pickle": True, "env": "coinrun",
             "rollouts": {"policy": POLICY, "trust_pickle": True}}
    proc = snakemake(workflow_with_models(tmp_path, {"mine": model}), "-n", "models", check=False)
    assert proc.returncode != 0 and "models.mine.rollouts.policy: an image env" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_image_model_runs_end_to_end_on_a_dataset(tmp_path):
    """An imported CnnRewardNet of CoinRun, preprocessed and interpreted over a train-procgen .npz (no expert)."""
    from tests.interpret_helpers import save_procgen_npz

    envs = tiny_envs()
    coinrun = envs["coinrun"]
    coinrun["interpret"] = {"n_observations": 16, "steps": 7, "ig_steps": 4, "device": "cpu"}
    coinrun["preprocess"] = {"kind": "cnn", "potential": "cnn", "channels": [4], "features_dim": 8,
                             "fit": {"batch_size": 8, "max_epochs": 1}, "device": "cpu"}
    model = {"path": f"{FIXTURES}/cnn_shaped.pt", "trust_pickle": True, "env": "coinrun",
             "rollouts": {"dataset": "frames.npz"}}
    work = copy_with_profiles(fresh(tmp_path / "w"), {**TINY_CONFIG, "envs": envs, "models": {"mine": model}})
    shutil.copytree(REPO_ROOT / FIXTURES, work / FIXTURES)
    save_procgen_npz(work / "frames.npz", size=64)
    snakemake(work, "models")
    out = work / "results/models/mine/interpret"
    assert sorted(p.name for p in out.iterdir()) == ["features", "features.json", "overview.png", "report.html"]
    # The output heads of a CoinRun model are titled with procgen's action names.
    names = [f["name"] for f in json.loads((out / "features.json").read_text())["features"]]
    assert names[:3] == ["LEFT+DOWN", "LEFT", "LEFT+UP"] and len(names) == 15
    assert not (work / "results/experts").exists() and not (work / "results/models/mine/figure.png").exists()
    # preprocessed with every objective over the .npz's 30 transitions; the saved model is the imported one behind
    # the frame adapter, plus the fitted CNN potential, and gives the imported net's rewards plus the shaping
    imported = load_reward_net(work / "results/models/mine/model")
    for objective in TINY_CONFIG["objectives"]:
        run = work / f"results/models/mine/preprocessed/{objective}"
        metrics = json.loads((run / "metrics.json").read_text())
        assert metrics["transitions"] == 30 and metrics["value"] <= metrics["value_initial"]
        preprocessed = load_reward_net(run)
        assert isinstance(preprocessed, PreprocessedRewardNet) and isinstance(preprocessed.base, FrameRewardNet)
        frames = np.load(work / "frames.npz")
        obs, next_obs, acts = frames["obs"][:5], frames["obs"][1:6], frames["acts"][:5]
        dones = np.zeros(5, bool)
        np.testing.assert_allclose(preprocessed.base.predict(obs, acts, next_obs, dones),
                                   imported.predict(obs, acts, next_obs, dones), rtol=1e-5, atol=1e-6)
