"""Preprocess a stored image reward model (CoinRun's CNN) over image rollouts and write its artifacts.

Any image reward model in the safe format goes: the project's `ImageRewardNet` as it is, any other (an
imported imitation `CnnRewardNet`, HWC or CHW, normalizing or not) behind `rewards.frames.FrameRewardNet`,
which feeds it the rollouts' raw frames the way its own ``preprocess`` would.

Output directory: the `PreprocessedRewardNet` (base CNN reward + CNN potential +
shift; ``model.safetensors`` + ``spec.json``) and ``metrics.json`` with the
objective before and after; it appears complete or not at all.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch as th
from imitation.rewards.reward_nets import RewardNet

from reward_preprocessing.data.image_batches import predict_rewards
from reward_preprocessing.data.image_rollouts import ImageRollouts, open_image_rollouts
from reward_preprocessing.devices import resolve_device
from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.cnn_critic import impala_critic_potential
from reward_preprocessing.preprocessing.image_fit import ImageFitSettings, fit_image_potential
from reward_preprocessing.preprocessing.neural import NeuralPreprocessResult
from reward_preprocessing.preprocessing.objectives import check_objective
from reward_preprocessing.preprocessing.outputs import write_preprocessed_model
from reward_preprocessing.rewards.cnn_potential import CnnPotential
from reward_preprocessing.rewards.frames import frame_reward_net
from reward_preprocessing.rewards.io import load_reward_net, read_spec
from reward_preprocessing.rewards.potentials import build_potential
from reward_preprocessing.rewards.shaped import PreprocessedRewardNet


@dataclass(frozen=True)
class ImagePreprocessSettings:
    """The `preprocess` stage for image rewards.

    ``potential``: ``cnn`` (a fresh IMPALA-style CNN), ``critic`` (the expert's critic as the initial potential,
    then trained) or ``critic_fixed`` (the critic as it is; only the shift is fitted).
    """

    kind: Literal["cnn"] = "cnn"
    objectives: tuple[str, ...] = ("sparse_l1", "smooth_l1", "sparse_log", "smooth_log")
    gamma: float = 0.99
    potential: Literal["cnn", "critic", "critic_fixed"] = "cnn"
    channels: tuple[int, ...] = (16, 32, 32)
    features_dim: int = 256
    fit: ImageFitSettings = field(default_factory=ImageFitSettings)
    bf16: bool = False
    # fit on the first whole trajectories holding at most this many transitions (None: all of them)
    max_transitions: int | None = None
    reward_batch_size: int = 512
    device: str = "auto"
    threads: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.gamma <= 1.0:
            raise UserError(f"gamma must be in (0, 1], got {self.gamma}")
        for objective in self.objectives:
            check_objective(objective)


def make_image_potential(settings: ImagePreprocessSettings, obs_shape: tuple[int, int, int],
                         expert: str | os.PathLike | None) -> CnnPotential:
    """A fresh CNN potential (seeded by ``fit.seed``) or the expert's critic."""
    if settings.potential.startswith("critic"):
        if expert is None:
            raise UserError(f"potential {settings.potential!r} needs the expert (--expert)")
        from reward_preprocessing.experts.store import load_expert

        loaded = load_expert(expert)
        if loaded.sb3_model is None:
            raise UserError(f"{expert}: a critic potential needs an SB3 PPO expert")
        potential = impala_critic_potential(loaded.sb3_model, obs_shape, float(loaded.info.get("reward_scale", 1.0)))
        potential.bf16 = settings.bf16
        return potential
    spec = CnnPotential(obs_shape, settings.channels, settings.features_dim, bf16=settings.bf16).spec()
    return build_potential(spec, settings.fit.seed)  # type: ignore[return-value]


def check_model_fits_rollouts(net: RewardNet, rollouts: ImageRollouts, model_dir: str | os.PathLike) -> None:
    """Refuse a reward model made for other observations or another action count, before any work.

    `net` takes frames (`rewards.frames.frame_reward_net`): its observation space is the frames' HWC shape."""
    if tuple(net.observation_space.shape) != tuple(rollouts.obs_shape):
        raise UserError(f"{model_dir}: the reward model takes frames of shape {net.observation_space.shape}, "
                        f"the rollouts have {rollouts.obs_shape}")
    n_actions = int(net.action_space.n)
    if len(rollouts) and rollouts.acts.max() >= n_actions:
        raise UserError(f"{model_dir}: the reward model knows {n_actions} actions, the rollouts use action "
                        f"{int(rollouts.acts.max())}")


def preprocess_image_model_dir(
    model_dir: str | os.PathLike,
    rollouts_path: str | os.PathLike,
    objective: str,
    out_dir: str | os.PathLike,
    settings: ImagePreprocessSettings,
    expert: str | os.PathLike | None = None,
    progress: bool = True,
) -> NeuralPreprocessResult:
    """Fit a CNN potential for `objective` over the rollouts and write `out_dir`."""
    check_objective(objective)
    device = resolve_device(settings.device)
    spec = read_spec(model_dir)
    net = load_reward_net(model_dir)
    try:
        net = frame_reward_net(net)
    except UserError as e:
        raise UserError(f"{model_dir}: {e}") from e
    rollouts = open_image_rollouts(rollouts_path)
    if settings.max_transitions is not None:
        rollouts = rollouts.head(settings.max_transitions)
    check_model_fits_rollouts(net, rollouts, model_dir)
    potential = make_image_potential(settings, rollouts.obs_shape, expert)
    net = net.to(device)
    reward = predict_rewards(net, rollouts, np.arange(len(rollouts)), settings.reward_batch_size, progress=progress)
    with th.random.fork_rng(devices=[]):
        th.manual_seed(settings.fit.seed)
        result = fit_image_potential(rollouts, reward, objective, potential, settings.gamma, settings.fit,
                                     train_potential=settings.potential != "critic_fixed", device=device,
                                     progress=progress)
    preprocessed = PreprocessedRewardNet.from_parts(net.cpu(), result.potential.cpu(), settings.gamma, result.shift)
    metrics = {
        **result.metrics(),
        "potential": settings.potential,
        "gamma": settings.gamma,
        "model": str(model_dir),
        "rollouts": str(rollouts_path),
        "transitions": len(rollouts),
        "trajectories": rollouts.n_trajectories,
        "device": device,
    }
    write_preprocessed_model(out_dir, preprocessed, spec, model_dir, objective, settings.potential, metrics)
    return result
