"""Supervised regression of a CNN reward model on image rollouts, streamed from disk.

The model (`rewards.cnn.ImageRewardNet`) regresses the raw env reward with MSE.
The test set is a random subset of whole *trajectories* (the reference split
per transition, so neighbouring, nearly identical frames leaked into the test
set). Optionally only a fraction of the zero-reward training transitions is
used, drawn afresh each epoch (the reference's ``frac_zero_reward_retained``,
which drew it once), because rewards are sparse. The first ``balanced_epochs``
epochs fit that rebalanced sample as it is: the rare rewarding transitions then
carry enough of the loss for the net to learn what they look like (with every
zero weighted up from the start it did not: with 48 coins in 60,000 CoinRun
transitions the test MSE stayed at 0.93 of the baseline). The remaining epochs
weight the kept zeros up (``reweight_zero_rewards``) so that the loss estimates
the MSE on all data again and the predictions are calibrated. The learning rate
decays linearly to 0 over the epochs (``lr_decay``).

Batches are read from disk by a background thread while the previous batch
trains, so memory stays flat however large the dataset. After every epoch a
checkpoint (model, optimizer, epoch, curve) is written; a run given the same
checkpoint directory resumes from it.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch as th
from tqdm import tqdm

from reward_preprocessing.artifacts import atomic_path
from reward_preprocessing.data.image_batches import forward_batch, predict_rewards, transition_batches
from reward_preprocessing.data.image_rollouts import ImageRollouts
from reward_preprocessing.devices import resolve_device
from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.cnn import ImageRewardNet

log = logging.getLogger(__name__)
CHECKPOINT_FILE = "checkpoint.pt"


@dataclass(frozen=True)
class CnnRewardSettings:
    """The `reward_model` stage with ``kind: cnn`` (reference values: batch 128, Adam 1e-3)."""

    kind: Literal["cnn"] = "cnn"
    labels: Literal["rollouts"] = "rollouts"  # regress the raw rewards stored with the rollouts
    hid_channels: tuple[int, ...] = (32, 64)
    use_action: bool = True
    kernel_size: int = 3
    stride: int = 1
    n_actions: int = 15
    batch_size: int = 128
    epochs: int = 5
    lr: float = 1e-3
    test_fraction: float = 0.1
    frac_zero_reward_retained: float = 1.0
    # weight the kept zero-reward transitions by 1 / frac_zero_reward_retained in the loss, so that it stays
    # an unbiased estimate of the MSE on all data (unweighted, the model learns rewards too high everywhere)
    reweight_zero_rewards: bool = True
    # epochs (from the first) that fit the rebalanced sample unweighted, before the reweighted ones
    balanced_epochs: int = 0
    lr_decay: bool = False
    # predicted reward above this counts as "positive" in precision/recall; None: half the smallest
    # positive training reward
    positive_threshold: float | None = None
    eval_batch_size: int = 512
    # training-set metrics on a uniform random sample of this many training transitions (an unbiased estimate
    # that keeps evaluation cheap on large datasets); the test set is always evaluated whole
    train_metrics_max: int = 5_000
    bf16: bool = False  # bfloat16 autocast for the convolutions (faster on CPUs that have it, and on GPUs)
    seed: int = 0
    device: str = "auto"
    threads: int = 1

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.eval_batch_size < 1 or self.epochs < 0 or self.lr <= 0:
            raise UserError("need batch_size >= 1, eval_batch_size >= 1, epochs >= 0 and lr > 0")
        if not 0.0 <= self.test_fraction < 1.0:
            raise UserError(f"test_fraction must be in [0, 1), got {self.test_fraction}")
        if not 0.0 < self.frac_zero_reward_retained <= 1.0:
            raise UserError(f"frac_zero_reward_retained must be in (0, 1], got {self.frac_zero_reward_retained}")
        if self.n_actions < 1:
            raise UserError("n_actions must be >= 1")
        if not 0 <= self.balanced_epochs <= self.epochs:
            raise UserError(f"balanced_epochs must be in [0, epochs = {self.epochs}], got {self.balanced_epochs}")


def split_by_trajectory(rollouts: ImageRollouts, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Transition indices of the train and test trajectories (a seeded random subset of whole trajectories)."""
    n_traj = rollouts.n_trajectories
    n_test = math.ceil(test_fraction * n_traj) if test_fraction > 0 else 0
    if n_test and n_test >= n_traj:
        raise UserError(f"{rollouts.where}: {n_traj} trajectories cannot be split into train and test "
                        f"(test_fraction {test_fraction}); collect more")
    test_traj = np.random.default_rng(seed).permutation(n_traj)[:n_test]
    is_test = np.isin(rollouts.episode_ids, test_traj)
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)


def regression_metrics(pred: np.ndarray, target: np.ndarray, train_mean: float, threshold: float) -> dict[str, Any]:
    """MSE, the MSE of always predicting the training mean, their ratio, and precision/recall of reward > 0.

    Undefined values (no data, no positives) are None, which JSON can hold."""
    mse = float(np.mean((pred - target) ** 2)) if len(target) else None
    baseline = float(np.mean((train_mean - target) ** 2)) if len(target) else None
    actual, predicted = target > 0, pred > threshold
    true_pos = int((actual & predicted).sum())
    return {
        "mse": mse,
        "baseline_mse": baseline,
        "mse_ratio": mse / baseline if mse is not None and baseline else None,
        "precision": true_pos / int(predicted.sum()) if predicted.any() else None,
        "recall": true_pos / int(actual.sum()) if actual.any() else None,
        "positives": int(actual.sum()),
        "evaluated": len(target),
    }


@dataclass
class TrainedRewardNet:
    net: ImageRewardNet
    metrics: dict[str, Any]
    curve: list[dict[str, float]] = field(default_factory=list)


def _epoch_index(train: np.ndarray, rews: np.ndarray, frac_zero: float, rng: np.random.Generator) -> np.ndarray:
    if frac_zero < 1.0:
        zero = rews[train] == 0
        keep = ~zero | (rng.random(len(train)) < frac_zero)
        train = train[keep]
    return rng.permutation(train)


def train_cnn_reward(
    rollouts: ImageRollouts, settings: CnnRewardSettings, checkpoint_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> TrainedRewardNet:
    """Train an `ImageRewardNet` on `rollouts` (see the module docstring); deterministic for a seed."""
    device = resolve_device(settings.device)
    if rollouts.acts.max(initial=0) >= settings.n_actions or rollouts.acts.min(initial=0) < 0:
        raise UserError(f"{rollouts.where}: actions outside [0, {settings.n_actions}); set n_actions to the env's")
    train, test = split_by_trajectory(rollouts, settings.test_fraction, settings.seed)
    if len(train) == 0:
        raise UserError(f"{rollouts.where}: no training transitions")
    from gymnasium import spaces

    obs_space = spaces.Box(0, 255, rollouts.obs_shape, np.uint8)
    th.manual_seed(settings.seed)
    net = ImageRewardNet(obs_space, spaces.Discrete(settings.n_actions), settings.hid_channels,
                         settings.use_action, settings.kernel_size, settings.stride).to(device)
    if device == "cpu":
        net = net.to(memory_format=th.channels_last)
    optimizer = th.optim.Adam(net.parameters(), lr=settings.lr)
    steps_per_epoch = math.ceil(len(_epoch_index(train, rollouts.rews, settings.frac_zero_reward_retained,
                                                 np.random.default_rng(settings.seed))) / settings.batch_size)
    total_steps = max(steps_per_epoch * settings.epochs, 1)
    scheduler = th.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: max(0.0, 1.0 - step / total_steps) if settings.lr_decay else 1.0)
    rng = np.random.default_rng(settings.seed)
    curve: list[dict[str, float]] = []
    start_epoch, seconds = 0, 0.0
    checkpoint = Path(checkpoint_dir) / CHECKPOINT_FILE if checkpoint_dir is not None else None
    if checkpoint is not None and checkpoint.is_file():
        state = th.load(checkpoint, map_location=device, weights_only=True)
        if state["settings"] != dataclasses.asdict(settings) | {"hid_channels": list(settings.hid_channels)}:
            raise UserError(f"{checkpoint}: made with other settings; delete it to start over")
        net.load_state_dict(state["net"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        rng.bit_generator.state = state["rng"]
        curve, start_epoch, seconds = state["curve"], state["epoch"], state["seconds"]
        log.info("resuming from %s after epoch %d", checkpoint, start_epoch)
    train_mean = float(rollouts.rews[train].astype(np.float64).mean())
    positive = rollouts.rews[train][rollouts.rews[train] > 0]
    threshold = settings.positive_threshold
    if threshold is None:
        threshold = float(positive.min()) / 2 if len(positive) else 0.0
    samples = 0
    for epoch in range(start_epoch, settings.epochs):
        begin = time.perf_counter()
        index = _epoch_index(train, rollouts.rews, settings.frac_zero_reward_retained, rng)
        net.train()
        total, count = 0.0, 0
        bar = tqdm(transition_batches(rollouts, index, settings.batch_size, device), total=math.ceil(len(index) /
                   settings.batch_size), desc=f"reward epoch {epoch + 1}/{settings.epochs}", disable=not progress,
                   mininterval=5.0)
        reweight = (settings.reweight_zero_rewards and settings.frac_zero_reward_retained < 1.0
                    and epoch >= settings.balanced_epochs)
        for batch in bar:
            squared = (forward_batch(net, batch, settings.bf16) - batch.rews).square()
            if reweight:
                weights = th.where(batch.rews == 0, 1.0 / settings.frac_zero_reward_retained, 1.0)
                loss = (squared * weights).sum() / weights.sum()
            else:
                loss = squared.mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(batch.rews)
            count += len(batch.rews)
        samples += count
        seconds += time.perf_counter() - begin
        row = {"epoch": epoch + 1, "train_loss": total / max(count, 1), "seconds": seconds}
        if len(test):
            pred = predict_rewards(net, rollouts, test, settings.eval_batch_size, settings.bf16)
            row["test_mse"] = float(np.mean((pred - rollouts.rews[test]) ** 2))
        curve.append(row)
        log.info("epoch %d: train loss %.4g%s", epoch + 1, row["train_loss"],
                 f", test MSE {row['test_mse']:.4g}" if "test_mse" in row else "")
        if checkpoint is not None:
            _save_checkpoint(checkpoint, net, optimizer, scheduler, rng, curve, epoch + 1, seconds, settings)
    metrics: dict[str, Any] = {
        "train_transitions": len(train),
        "test_transitions": len(test),
        "test_trajectories": len(np.unique(rollouts.episode_ids[test])),
        "train_mean_reward": train_mean,
        "positive_threshold": threshold,
        "train_seconds": seconds,
        "transitions_per_second": samples / seconds if seconds > 0 else None,
        "device": device,
    }
    sample = train
    if len(train) > settings.train_metrics_max:
        sample = np.sort(np.random.default_rng(settings.seed).choice(train, settings.train_metrics_max, replace=False))
    metrics["train_metrics_transitions"] = len(sample)
    train_pred = predict_rewards(net, rollouts, sample, settings.eval_batch_size, settings.bf16, progress)
    for name, value in regression_metrics(train_pred, rollouts.rews[sample], train_mean, threshold).items():
        metrics[f"train_{name}"] = value
    if len(test):
        test_pred = predict_rewards(net, rollouts, test, settings.eval_batch_size, settings.bf16, progress)
        for name, value in regression_metrics(test_pred, rollouts.rews[test], train_mean, threshold).items():
            metrics[f"test_{name}"] = value
        metrics["test_precision_at_zero"] = regression_metrics(test_pred, rollouts.rews[test], train_mean,
                                                               0.0)["precision"]
    net = net.to(memory_format=th.contiguous_format).cpu().eval()
    return TrainedRewardNet(net, metrics, curve)


def _save_checkpoint(path: Path, net: ImageRewardNet, optimizer: th.optim.Optimizer,
                     scheduler: th.optim.lr_scheduler.LRScheduler, rng: np.random.Generator,
                     curve: list[dict[str, float]], epoch: int, seconds: float, settings: CnnRewardSettings) -> None:
    state = {
        "net": net.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(), "rng": rng.bit_generator.state,
        "curve": curve, "epoch": epoch, "seconds": seconds,
        "settings": dataclasses.asdict(settings) | {"hid_channels": list(settings.hid_channels)},
    }
    with atomic_path(path) as tmp:
        th.save(state, tmp)
