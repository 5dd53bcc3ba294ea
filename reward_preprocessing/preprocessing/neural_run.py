"""Preprocess a stored non-tabular reward model over rollouts and write its artifacts.

Output directory: the preprocessed model (a `PreprocessedRewardNet`:
``model.safetensors`` + ``spec.json``) and ``metrics.json`` with the objective
before and after; it appears complete or not at all.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch as th
from gymnasium import spaces
from torch import nn

from reward_preprocessing.data.rollouts import load_rollouts
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.devices import Device, resolve_device, set_threads
from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.feature_lp import (
    FeatureSettings,
    FeatureSolution,
    preprocess_features_model_dir,
)
from reward_preprocessing.preprocessing.neural import NeuralPreprocessResult, fit_potential
from reward_preprocessing.preprocessing.objectives import OBJECTIVES, check_objective
from reward_preprocessing.preprocessing.outputs import write_preprocessed_model
from reward_preprocessing.preprocessing.potentials import critic_potential
from reward_preprocessing.rewards.io import load_reward_net, read_spec
from reward_preprocessing.rewards.potentials import BoxMLPPotential, LinearPotential, MLPPotential, build_potential
from reward_preprocessing.rewards.shaped import PreprocessedRewardNet

POTENTIAL_KINDS = ("features", "linear", "mlp", "mlp_box", "critic", "critic_fixed")
log = logging.getLogger(__name__)


@dataclass
class FitSettings:
    """Optimizer settings of `fit_potential`: minibatch Adam until the full-data objective stops improving by
    a fraction `tol` for `patience` epochs (or `max_epochs`)."""

    batch_size: int = 200
    lr: float = 1e-2
    max_epochs: int = 20
    tol: float = 1e-3
    patience: int = 3
    seed: int = 0


@dataclass
class NeuralPreprocessSettings:
    """Neural preprocessing of a non-tabular reward model (config: ``envs.<env>.preprocess`` and ``gamma``).

    Attributes:
        potential: ``features`` (Φ = w·φ(s) over the feature map of `features`, solved exactly: an LP for
            the L1 objectives, majorize–minimize from the L1 optimum for the log ones), or a gradient fit of
            ``linear``, ``mlp``, ``mlp_box`` (an MLP over observations rescaled by the observation space's
            bounds), ``critic`` (the expert's critic as initial potential) or ``critic_fixed``.
        hidden_sizes: widths of the MLP potentials.
        features: the feature map and exact solver of the ``features`` potential.
        objectives: the objectives to preprocess for, one output directory each.
    """

    potential: str = "mlp_box"
    hidden_sizes: list[int] = field(default_factory=lambda: [128, 128])
    fit: FitSettings = field(default_factory=FitSettings)
    features: FeatureSettings = field(default_factory=FeatureSettings)
    gamma: float = 0.99
    objectives: list[str] = field(default_factory=lambda: list(OBJECTIVES))
    device: Device = "auto"

    def __post_init__(self) -> None:
        if self.potential not in POTENTIAL_KINDS:
            raise UserError(f"unknown potential {self.potential!r}; choose one of: {', '.join(POTENTIAL_KINDS)}")
        if not 0.0 < self.gamma <= 1.0:
            raise UserError(f"gamma must be in (0, 1], got {self.gamma}")
        for objective in self.objectives:
            check_objective(objective)

    @property
    def needs_expert(self) -> bool:
        return self.potential.startswith("critic")


def make_potential(
    kind: str, observation_space: spaces.Space, hidden_sizes: list[int], seed: int, expert: str | None = None
) -> nn.Module:
    """An untrained potential of `kind`, or the critic of the expert in `expert`."""
    if kind not in POTENTIAL_KINDS:
        raise UserError(f"unknown potential {kind!r}; choose one of: {', '.join(POTENTIAL_KINDS)}")
    if kind == "features":
        raise UserError("potential 'features' is solved exactly (preprocessing/feature_lp.py), not fitted")
    if kind.startswith("critic"):
        if expert is None:
            raise UserError(f"potential {kind!r} needs an SB3 expert (--expert)")
        from reward_preprocessing.experts.store import load_expert

        model = load_expert(expert).sb3_model
        if model is None:
            raise UserError(f"{expert}: a critic potential needs an SB3 expert, not a tabular policy")
        return critic_potential(model)
    obs_dim = int(spaces.flatdim(observation_space))
    if kind == "mlp_box":
        if not isinstance(observation_space, spaces.Box):
            raise UserError("potential 'mlp_box' needs a Box observation space")
        spec: dict[str, Any] = BoxMLPPotential(observation_space.low.ravel(), observation_space.high.ravel(),
                                               hidden_sizes).spec()
    elif kind == "mlp":
        spec = MLPPotential(obs_dim, hidden_sizes).spec()
    else:
        spec = LinearPotential(obs_dim).spec()
    return build_potential(spec, seed)


def preprocess_neural_model_dir(
    model_dir: str | os.PathLike,
    rollouts_dir: str | os.PathLike,
    objective: str,
    out_dir: str | os.PathLike,
    settings: NeuralPreprocessSettings | None = None,
    expert: str | None = None,
    progress: bool = True,
    threads: int | None = None,
) -> NeuralPreprocessResult | FeatureSolution:
    """Fit a potential for `objective` over the rollouts' transitions and write `out_dir`.

    The ``features`` potential is not fitted: `feature_lp` solves for its weights exactly, on `threads` threads.
    """
    check_objective(objective)
    settings = settings or NeuralPreprocessSettings()
    if settings.potential == "features":
        return preprocess_features_model_dir(model_dir, rollouts_dir, objective, out_dir, settings.gamma,
                                             settings.features, threads, progress)
    fit, gamma, potential = settings.fit, settings.gamma, settings.potential
    device = resolve_device(settings.device)
    spec = read_spec(model_dir)
    net = load_reward_net(model_dir)
    env_id = spec.get("env", {}).get("id")
    potential_module = make_potential(potential, net.observation_space, settings.hidden_sizes, fit.seed, expert)
    trajectories = load_rollouts(rollouts_dir, env_id=env_id, obs_shape=net.observation_space.shape)
    data = TransitionBatch.from_trajectories(trajectories)
    reward = data.rewards(net)
    obs, next_obs = data.preprocessed_obs(net)

    with th.random.fork_rng(devices=[]):
        th.manual_seed(fit.seed)
        result = fit_potential(
            obs, next_obs, reward, data.episode_ids, objective, potential_module, gamma,
            dones=data.dones, train_potential=potential != "critic_fixed", batch_size=fit.batch_size, lr=fit.lr,
            max_epochs=fit.max_epochs, tol=fit.tol, patience=fit.patience, seed=fit.seed, device=device,
            progress=progress,
        )
    result.potential.to("cpu")
    preprocessed = PreprocessedRewardNet.from_parts(net, result.potential, gamma, result.shift)
    metrics = {
        **result.metrics(),
        "potential": potential,
        "gamma": gamma,
        "model": str(model_dir),
        "rollouts": str(rollouts_dir),
        "transitions": len(data),
        "trajectories": len(set(data.episode_ids.tolist())),
    }
    write_preprocessed_model(out_dir, preprocessed, spec, model_dir, objective, potential, metrics)
    return result


def preprocess_neural_stage(
    model_dir: str | os.PathLike,
    rollouts_dir: str | os.PathLike,
    settings: NeuralPreprocessSettings,
    out_root: str | os.PathLike,
    expert: str | None = None,
    threads: int = 1,
    progress: bool = True,
) -> dict[str, NeuralPreprocessResult | FeatureSolution]:
    """Preprocess one model for every objective of `settings`, into ``out_root/<objective>`` (one process)."""
    if settings.needs_expert and expert is None:
        raise UserError(f"potential {settings.potential!r} needs an SB3 expert")
    set_threads(threads)
    results = {}
    for objective in settings.objectives:
        out = Path(out_root, objective)
        results[objective] = result = preprocess_neural_model_dir(model_dir, rollouts_dir, objective, out, settings,
                                                                  expert, progress, threads)
        log.info("%s: %s %.6g -> %.6g (%s, %.1fs)", model_dir, objective, result.value_before,
                 result.value_after, result.work, result.seconds)
    return results
