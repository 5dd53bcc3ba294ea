"""IMPALA CNN shapes and size; a few PPO updates on CoinRun change the weights; the expert saves and loads."""

from __future__ import annotations

import numpy as np
import pytest
import torch as th
from gymnasium import spaces

from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.coinrun_ppo import (
    CoinRunExpertSettings,
    LinearSchedule,
    build_ppo,
    read_curve,
    save_coinrun_expert,
    train_coinrun_expert,
)
from reward_preprocessing.experts.impala import ImpalaCNN
from reward_preprocessing.experts.store import SB3_FILE, load_expert
from reward_preprocessing.settings import from_mapping, to_mapping
from tests.safety_helpers import install_paths_in_sb3_zip

IMAGE = spaces.Box(0, 255, (3, 64, 64), np.uint8)
TINY = {
    "env": {"num_levels": 2},
    "ppo": {"n_envs": 2, "n_steps": 16, "batch_size": 16, "n_epochs": 1},
    "total_timesteps": 64,
    "eval_episodes": 2, "eval_n_envs": 2,
    "device": "cpu",
}


@pytest.mark.parametrize(("channels_last", "bf16"), [(False, False), (True, False), (True, True)])
def test_impala_shapes_and_parameter_count(channels_last, bf16):
    net = ImpalaCNN(IMAGE, channels_last=channels_last, bf16=bf16)
    # blocks: 448 + 2*4640, 4640 + 2*18496, 9248 + 2*18496; linear 2048*256 + 256
    assert sum(p.numel() for p in net.parameters()) == 622_144
    assert net.linear.in_features == 32 * 8 * 8
    out = net(th.rand(5, 3, 64, 64))
    assert out.shape == (5, 256) and out.dtype == th.float32 and (out >= 0).all()


def test_layouts_compute_the_same_function():
    th.manual_seed(0)
    plain = ImpalaCNN(IMAGE, channels_last=False)
    fast = ImpalaCNN(IMAGE, channels_last=True)
    fast.load_state_dict(plain.state_dict())
    x = th.rand(4, 3, 64, 64)
    th.testing.assert_close(plain(x), fast(x), rtol=1e-4, atol=1e-5)


def test_impala_rejects_flat_observations():
    with pytest.raises(UserError, match="image"):
        ImpalaCNN(spaces.Box(0, 1, (10,)))


def test_linear_schedule_decays_to_zero():
    schedule = LinearSchedule(5e-4)
    assert schedule(1.0) == 5e-4 and schedule(0.5) == 2.5e-4 and schedule(0.0) == 0.0


def test_ppo_hyperparameters_reach_sb3():
    settings = from_mapping(CoinRunExpertSettings, TINY)
    model = build_ppo(settings, "cpu")
    assert model.policy.optimizer.defaults["eps"] == 1e-5
    assert model.lr_schedule(0.0) == 0.0 and model.lr_schedule(1.0) == settings.ppo.learning_rate
    assert isinstance(model.policy.features_extractor, ImpalaCNN)
    assert model.policy.action_net.out_features == 15
    model.get_env().close()


def test_a_few_ppo_updates_change_the_weights_and_save(tmp_path):
    settings = from_mapping(CoinRunExpertSettings, TINY)
    th.manual_seed(settings.seed)
    before = {k: v.clone() for k, v in build_ppo(settings, "cpu").policy.state_dict().items()}
    trained = train_coinrun_expert(settings, progress=False)
    after = trained.model.policy.state_dict()
    changed = [k for k in before if not th.equal(before[k], after[k])]
    assert any("features_extractor" in k for k in changed) and any("action_net" in k for k in changed)
    m = trained.metrics
    assert m["episodes"] == 2 and m["timesteps"] == 64 and 0 <= m["level_completion_rate"] <= 1
    save_coinrun_expert(tmp_path / "expert", trained, to_mapping(settings))
    assert install_paths_in_sb3_zip(tmp_path / "expert" / SB3_FILE) == []  # same bytes on every checkout
    expert = load_expert(tmp_path / "expert")
    assert expert.env_kwargs == {"num_levels": 2, "start_level": 0, "distribution_mode": "easy"}
    obs = np.zeros((3, 64, 64, 3), dtype=np.uint8)
    np.testing.assert_array_equal(expert.policy.predict(obs, deterministic=True)[0],
                                  trained.model.predict(obs, deterministic=True)[0])
    curve = read_curve(tmp_path / "expert")
    np.testing.assert_array_equal(curve["timesteps"], [32, 64])


def test_batch_larger_than_a_rollout_is_refused():
    with pytest.raises(UserError, match="batch_size"):
        from_mapping(CoinRunExpertSettings, {**TINY, "ppo": {"n_envs": 2, "n_steps": 16, "batch_size": 64}})
