"""PPO with an IMPALA CNN on CoinRun (stable-baselines3), at laptop or paper scale from one settings document.

The recipe follows train-procgen's ``hard-500`` config: normalized advantages
and (optionally) rewards, Adam with eps 1e-5, learning rate decaying linearly
to 0, policy and value heads directly on the 256 IMPALA features. The paper
scale is only a different settings document (``config/paper.yaml``).

CPU speed: the convolutions run in channels-last layout and, with
``bf16_convs``, under bfloat16 autocast (weights, heads, losses and
optimizer stay float32). On this project's CPUs that is about 2.5 times faster
for the forward+backward pass that bounds PPO's throughput.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import VecNormalize
from tqdm import tqdm

from reward_preprocessing.artifacts import atomic_dir, write_csv, write_json
from reward_preprocessing.devices import resolve_device
from reward_preprocessing.envs.procgen import ENV_ID, CoinRunOptions, make_coinrun_venv, procgen_threads
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.impala import ImpalaCNN
from reward_preprocessing.experts.procgen_eval import EvalSettings, evaluate_coinrun, policy_actions, random_actions
from reward_preprocessing.experts.sb3 import learn_quietly, save_sb3_expert
from reward_preprocessing.experts.schedules import ConstantSchedule, LinearSchedule
from reward_preprocessing.experts.store import EXPERT_FILE, METRICS_FILE, SB3_FILE

log = logging.getLogger(__name__)
CURVE_FILE = "learning_curve.csv"
CURVE_COLUMNS = ("timesteps", "wall_seconds", "episodes", "return_mean", "level_completion_rate")


@dataclass(frozen=True)
class PpoSettings:
    """PPO's hyperparameters. Defaults: the laptop scale (train-procgen's hard-500 recipe with fewer envs,
    shorter rollouts, smaller minibatches and gamma 0.99, so that learning starts within 10^5 steps);
    config/paper.yaml sets the paper's values."""

    n_envs: int = 32
    n_steps: int = 128
    n_epochs: int = 3
    batch_size: int = 1024
    gamma: float = 0.99
    gae_lambda: float = 0.95
    learning_rate: float = 5e-4  # decays linearly to 0 over total_timesteps
    adam_eps: float = 1e-5
    clip_range: float = 0.2
    ent_coef: float = 0.01
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    normalize_reward: bool = True

    def __post_init__(self) -> None:
        if min(self.n_envs, self.n_steps, self.n_epochs, self.batch_size) < 1:
            raise UserError("n_envs, n_steps, n_epochs and batch_size must be >= 1")
        if self.batch_size > self.n_envs * self.n_steps:
            raise UserError(
                f"batch_size {self.batch_size} exceeds one rollout of n_envs * n_steps = {self.n_envs * self.n_steps}"
            )
        if not (0 < self.gamma <= 1 and 0 <= self.gae_lambda <= 1 and self.learning_rate > 0 and self.adam_eps > 0):
            raise UserError("need 0 < gamma <= 1, 0 <= gae_lambda <= 1, learning_rate > 0, adam_eps > 0")


@dataclass(frozen=True)
class CoinRunExpertSettings:
    """Everything that determines a CoinRun expert (the `expert` stage with ``algo: ppo``)."""

    algo: Literal["ppo_impala"] = "ppo_impala"
    env: CoinRunOptions = field(default_factory=lambda: CoinRunOptions(num_levels=200, distribution_mode="easy"))
    ppo: PpoSettings = field(default_factory=PpoSettings)
    total_timesteps: int = 200_000
    # evaluation (and the random policy's, for comparison) on the training levels
    eval_episodes: int = 100
    eval_seed: int = 10_000
    eval_n_envs: int = 20
    eval_deterministic: bool = False
    seed: int = 0
    device: str = "auto"
    threads: int = 1
    channels_last: bool = True
    bf16_convs: bool = True
    features_dim: int = 256

    @property
    def eval(self) -> EvalSettings:
        return EvalSettings(self.eval_episodes, self.eval_n_envs, self.eval_seed, self.eval_deterministic)

    def __post_init__(self) -> None:
        self.eval  # noqa: B018  (validates the evaluation settings)
        if self.total_timesteps < self.ppo.n_envs * self.ppo.n_steps:
            raise UserError(
                f"total_timesteps {self.total_timesteps} is less than one rollout "
                f"({self.ppo.n_envs} envs x {self.ppo.n_steps} steps)"
            )


class _Curve(BaseCallback):
    """Record the mean return and completion rate of the episodes finished in each rollout, with a tqdm bar."""

    def __init__(self, total: int, progress: bool, stop_file: Path | None = None) -> None:
        super().__init__()
        self.stop_file = stop_file
        self.stopped = False
        self.rows: list[dict[str, float]] = []
        self.returns: list[float] = []
        self.completed: list[bool] = []
        self.start = time.perf_counter()
        self.bar = tqdm(total=total, desc="train PPO", unit="step", mininterval=10.0, disable=not progress)

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        for info in self.locals["infos"]:
            if "episode" in info:
                self.returns.append(info["episode"]["r"])
                self.completed.append(info["level_complete"])
        return not self.stopped

    def _on_rollout_end(self) -> None:
        n = len(self.returns)
        self.rows.append({
            "timesteps": self.num_timesteps,
            "wall_seconds": time.perf_counter() - self.start,
            "episodes": n,
            "return_mean": float(np.mean(self.returns)) if n else math.nan,
            "level_completion_rate": float(np.mean(self.completed)) if n else math.nan,
        })
        if n:
            self.bar.set_postfix(ret=f"{self.rows[-1]['return_mean']:.2f}")
        self.returns, self.completed = [], []
        if self.stop_file is not None and self.stop_file.exists():
            log.warning("%s exists: stopping PPO after %d steps", self.stop_file, self.num_timesteps)
            self.stopped = True

    def _on_training_end(self) -> None:
        self.bar.close()


def build_ppo(settings: CoinRunExpertSettings, device: str) -> PPO:
    """An untrained PPO agent on freshly made, seeded CoinRun games."""
    p = settings.ppo
    venv: Any = make_coinrun_venv(settings.env, p.n_envs, seed=settings.seed,
                                  num_threads=procgen_threads(settings.threads))
    if p.normalize_reward:
        venv = VecNormalize(venv, norm_obs=False, norm_reward=True, gamma=p.gamma)
    policy_kwargs = {
        "features_extractor_class": ImpalaCNN,
        "features_extractor_kwargs": {"features_dim": settings.features_dim, "channels_last": settings.channels_last,
                                      "bf16": settings.bf16_convs},
        "net_arch": {"pi": [], "vf": []},
        "optimizer_kwargs": {"eps": p.adam_eps},
    }
    return PPO(
        "CnnPolicy", venv, learning_rate=LinearSchedule(p.learning_rate), n_steps=p.n_steps, batch_size=p.batch_size,
        n_epochs=p.n_epochs, gamma=p.gamma, gae_lambda=p.gae_lambda, clip_range=ConstantSchedule(p.clip_range),
        ent_coef=p.ent_coef, vf_coef=p.vf_coef, max_grad_norm=p.max_grad_norm, normalize_advantage=True,
        policy_kwargs=policy_kwargs, seed=settings.seed, device=device, verbose=0,
    )


def reward_scale(model: PPO) -> float:
    """Raw reward per unit of the rewards the critic learned (VecNormalize divides by the return's std)."""
    env = model.get_env()
    while env is not None and not isinstance(env, VecNormalize):
        env = getattr(env, "venv", None)
    if env is None:
        return 1.0
    return float(np.sqrt(env.ret_rms.var + env.epsilon))


@dataclass
class TrainedExpert:
    model: PPO
    curve: list[dict[str, float]]
    metrics: dict[str, Any]


def train_coinrun_expert(
    settings: CoinRunExpertSettings, progress: bool = True, stop_file: str | os.PathLike | None = None
) -> TrainedExpert:
    """Train PPO on CoinRun, then evaluate it; same settings and seed give the same weights.

    Args:
        stop_file: if this file appears, training stops after the current rollout (then evaluates and
            returns as usual), e.g. to end a long run early on a shared machine.
    """
    device = resolve_device(settings.device)
    th.manual_seed(settings.seed)
    model = build_ppo(settings, device)
    curve = _Curve(settings.total_timesteps, progress, Path(stop_file) if stop_file else None)
    start = time.perf_counter()
    learn_quietly(model, settings.total_timesteps, curve)
    train_seconds = time.perf_counter() - start
    model.get_env().close()
    stats = evaluate_coinrun(policy_actions(model, settings.eval.deterministic), settings.env, settings.eval,
                             procgen_threads(settings.threads), progress)
    # the same evaluation (levels, seeds, episode count) for a uniformly random policy, as the yardstick
    random_stats = evaluate_coinrun(random_actions(settings.eval.seed), settings.env, settings.eval,
                                    procgen_threads(settings.threads), progress)
    metrics = {
        **stats.metrics(),
        **{f"random_{k}": v for k, v in random_stats.metrics().items()},
        "timesteps": int(model.num_timesteps),
        "train_seconds": train_seconds,
        "steps_per_second": model.num_timesteps / train_seconds,
        "eval_seconds": time.perf_counter() - start - train_seconds,
        "device": device,
        "threads": settings.threads,
        "reward_scale": reward_scale(model),
        "stopped_early": curve.stopped,
    }
    return TrainedExpert(model, curve.rows, metrics)


def save_coinrun_expert(
    directory: str | os.PathLike, trained: TrainedExpert, settings: dict[str, Any],
    extra: Callable[[Path], None] | None = None,
) -> None:
    """An expert directory (`experts.store` layout) plus the learning curve as CSV; atomically.

    `extra` may write more files (e.g. plots) into the directory before it appears.
    """
    with atomic_dir(directory) as tmp:
        save_sb3_expert(trained.model, tmp / SB3_FILE)
        info = {
            "kind": "sb3", "algo": "ppo", "env": {"id": ENV_ID, "kwargs": settings["env"]},
            "settings": settings, "reward_scale": trained.metrics["reward_scale"],
        }
        write_json(tmp / EXPERT_FILE, info)
        write_json(tmp / METRICS_FILE, trained.metrics)
        write_csv(tmp / CURVE_FILE, CURVE_COLUMNS, ([row[c] for c in CURVE_COLUMNS] for row in trained.curve))
        if extra is not None:
            extra(Path(tmp))


def read_curve(directory: str | os.PathLike) -> dict[str, np.ndarray]:
    """The learning curve of an expert directory, column by column."""
    path = Path(directory) / CURVE_FILE
    if not path.is_file():
        raise UserError(f"{path}: missing; train the CoinRun expert first")
    data = np.genfromtxt(path, delimiter=",", names=True, dtype=np.float64, ndmin=1)
    return {name: np.atleast_1d(data[name]) for name in data.dtype.names}
