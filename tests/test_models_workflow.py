"""Your own reward model through the pipeline (config `models:`): import, preprocess, plot."""

from __future__ import annotations

import shutil

import pytest

from reward_preprocessing.rewards.imitation_nets import ImitationRewardNet
from reward_preprocessing.rewards.io import load_reward_net
from tests.safety_helpers import fresh
from tests.workflow_helpers import REPO_ROOT, TINY_CONFIG
from tests.workflow_runs import copy_with_profiles, snakemake

pytestmark = pytest.mark.slow
FIXTURES = "tests/data/imitation_numpy2"


def workflow_with_models(tmp_path, models: dict):
    work = copy_with_profiles(fresh(tmp_path / "w"), {**TINY_CONFIG, "models": models})
    shutil.copytree(REPO_ROOT / FIXTURES, work / FIXTURES)
    return work


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
