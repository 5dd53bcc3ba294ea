"""Supervised regression of a reward net on rollouts, split by trajectory.

The reference split train and test per transition, so neighbouring frames of
one episode landed on both sides and the test error was optimistic. Here whole
trajectories go to one side only.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch as th
from imitation.rewards.reward_nets import RewardNet
from tqdm import tqdm

from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.devices import Device, resolve_device
from reward_preprocessing.errors import UserError


@dataclass
class RewardModelSettings:
    """A reward model learned by regression on rollouts (config: ``envs.<env>.reward_model``).

    Attributes:
        kind: the network, by name in `reward_preprocessing.training.reward_models.REWARD_MODEL_KINDS`.
        labels: ``ground_truth`` regresses on the env's shaped ground-truth reward model; ``rollouts`` on the
            rewards stored with the rollouts (for envs without a ground-truth model).
        hidden_sizes: widths of the hidden layers.
        epochs, batch_size, lr: MSE regression with Adam.
        test_fraction: share of the trajectories held out for the test metrics (split by trajectory).
    """

    kind: str = "mlp"
    labels: Literal["ground_truth", "rollouts"] = "ground_truth"
    hidden_sizes: list[int] = field(default_factory=lambda: [128, 128])
    epochs: int = 60
    batch_size: int = 256
    lr: float = 3e-3
    test_fraction: float = 0.2
    seed: int = 0
    device: Device = "auto"

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise UserError("need epochs >= 1, batch_size >= 1 and lr > 0")
        if not 0.0 < self.test_fraction < 1.0:
            raise UserError(f"test_fraction must be in (0, 1), got {self.test_fraction}")
        if not self.hidden_sizes or min(self.hidden_sizes) < 1:
            raise UserError(f"hidden_sizes must be positive widths, got {self.hidden_sizes}")


@dataclass
class SupervisedResult:
    metrics: dict[str, Any]
    history: list[float] = field(default_factory=list)


def split_by_trajectory(episode_ids: np.ndarray, test_fraction: float, seed: int) -> np.ndarray:
    """Boolean test mask that puts whole trajectories on one side (at least one on each)."""
    episodes = np.unique(episode_ids)
    if len(episodes) < 2:
        raise UserError(f"need at least 2 trajectories for a train/test split, got {len(episodes)}")
    n_test = min(max(1, round(test_fraction * len(episodes))), len(episodes) - 1)
    test_episodes = np.random.default_rng(seed).permutation(episodes)[:n_test]
    return np.isin(episode_ids, test_episodes)


def regression_metrics(pred: np.ndarray, target: np.ndarray) -> dict[str, float]:
    """MSE, RMSE, Pearson correlation and the target's variance (a trivial model's MSE)."""
    pred, target = np.asarray(pred, np.float64), np.asarray(target, np.float64)
    mse = float(np.mean((pred - target) ** 2))
    both_vary = pred.std() > 0 and target.std() > 0
    corr = float(np.corrcoef(pred, target)[0, 1]) if both_vary else float("nan")
    return {"mse": mse, "rmse": math.sqrt(mse), "pearson": corr if math.isfinite(corr) else None,
            "target_var": float(target.var())}


def train_supervised(
    net: RewardNet, data: TransitionBatch, targets: np.ndarray, cfg: RewardModelSettings, progress: bool = True
) -> SupervisedResult:
    """Fit `net` in place to `targets` by MSE on the training trajectories (on `cfg.device`); report test metrics.

    The net ends on the CPU, ready to be saved.
    """
    targets = np.asarray(targets, dtype=np.float64)
    if len(targets) != len(data):
        raise UserError(f"{len(targets)} targets for {len(data)} transitions")
    if not np.isfinite(targets).all():
        raise UserError("targets contain NaN or infinite values")
    start = time.perf_counter()
    test_mask = split_by_trajectory(data.episode_ids, cfg.test_fraction, cfg.seed)
    train, test = data.select(~test_mask), data.select(test_mask)
    net.to(resolve_device(cfg.device))
    state, action, next_state, done = net.preprocess(train.obs, train.acts, train.next_obs, train.dones)
    y = th.as_tensor(targets[~test_mask], dtype=th.float32, device=state.device)

    generator = th.Generator().manual_seed(cfg.seed)
    with th.random.fork_rng(devices=[]):
        th.manual_seed(cfg.seed)
        optimizer = th.optim.Adam(net.parameters(), lr=cfg.lr)
    history = []
    net.train()
    for _ in tqdm(range(cfg.epochs), desc="reward regression", disable=not progress, mininterval=5.0):
        order = th.randperm(len(y), generator=generator).to(y.device)
        total = 0.0
        for begin in range(0, len(y), cfg.batch_size):
            idx = order[begin : begin + cfg.batch_size]
            loss = th.mean((net(state[idx], action[idx], next_state[idx], done[idx]).float() - y[idx]) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        history.append(total / len(y))
    net.eval()
    net.to("cpu")
    train_metrics = regression_metrics(train.rewards(net), targets[~test_mask])
    test_metrics = regression_metrics(test.rewards(net), targets[test_mask])
    metrics = {
        **{f"train_{k}": v for k, v in train_metrics.items()},
        **{f"test_{k}": v for k, v in test_metrics.items()},
        "train_trajectories": len(np.unique(train.episode_ids)),
        "test_trajectories": len(np.unique(test.episode_ids)),
        "train_transitions": len(train),
        "test_transitions": len(test),
        "split": "by_trajectory",
        "seconds": time.perf_counter() - start,
        **{k: getattr(cfg, k) for k in ("epochs", "batch_size", "lr", "test_fraction", "seed")},
    }
    return SupervisedResult(metrics, history)
