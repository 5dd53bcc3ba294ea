"""Neural potentials for rewards over large or continuous state spaces (MountainCar, CoinRun).

The preprocessed reward is ``r' = r + gamma * (1 - done) * phi(s') - phi(s) - c``
(a terminal next state has potential 0, as in imitation's shaping). `phi` is
trained by minibatch Adam on the interpretability objective until the
full-data objective stops improving, not for a fixed number of epochs.

Smoothness compares *consecutive transitions of one trajectory* (t and t + 1
with the same episode id); the transitions must therefore arrive in trajectory
order. Batches are drawn over such pairs, never over neighbours in a shuffled
batch (a bug of the reference code).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch as th
from torch import nn
from tqdm.auto import tqdm

from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.objectives import check_objective, is_smooth, objective_value, penalty
from reward_preprocessing.shaping import shaped_reward


def consecutive_pairs(episode_ids: np.ndarray) -> np.ndarray:
    """(P, 2) indices (t, t + 1) of consecutive transitions within one episode.

    Raises if an episode's transitions are not contiguous, which means the
    data was shuffled and consecutive rows are not consecutive in time.
    """
    ids = np.asarray(episode_ids)
    if ids.ndim != 1:
        raise UserError("episode_ids must be one id per transition")
    if len(ids) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    same = ids[1:] == ids[:-1]
    blocks = int((~same).sum()) + 1
    if blocks != len(np.unique(ids)):
        raise UserError(
            "episode ids are not contiguous: transitions must be in trajectory order (was the data shuffled?)"
        )
    starts = np.flatnonzero(same)
    return np.stack([starts, starts + 1], axis=1).astype(np.int64)


@dataclass
class NeuralPreprocessResult:
    """A fitted potential and shift, with the objective before and after and the training history."""

    potential: nn.Module
    shift: float
    objective: str
    gamma: float
    value_before: float  # the objective of the reward as given (no potential, no shift)
    value_initial: float  # with the initial potential and shift 0
    value_after: float  # at the returned (best) potential and shift
    epochs: int
    converged: bool
    stopped_by: str
    seconds: float
    history: list[float] = field(default_factory=list)  # full-data objective after each epoch

    @property
    def work(self) -> str:
        """What the fit took, for the scripts' log line (an exact feature solve reports its LP solves)."""
        return f"{self.epochs} epochs"

    def metrics(self) -> dict[str, Any]:
        return {
            "objective": self.objective,
            "value": self.value_after,
            "value_before": self.value_before,
            "value_initial": self.value_initial,
            "solver": "adam_minibatch",
            "seconds": self.seconds,
            "epochs": self.epochs,
            "converged": self.converged,
            "stopped_by": self.stopped_by,
            "shift": self.shift,
            "history": self.history,
        }


class _Data:
    """Transitions as numpy arrays, moved to the device one batch at a time."""

    def __init__(
        self, obs: np.ndarray, next_obs: np.ndarray, reward: np.ndarray, dones: np.ndarray, device: th.device
    ) -> None:
        self.obs, self.next_obs, self.reward, self.dones, self.device = obs, next_obs, reward, dones, device

    def batch(self, index: np.ndarray) -> tuple[th.Tensor, th.Tensor, th.Tensor, th.Tensor]:
        def to(x: np.ndarray) -> th.Tensor:
            return th.as_tensor(x[index], device=self.device).float()

        return to(self.obs), to(self.next_obs), to(self.reward), to(self.dones)


def _shaped(
    potential: nn.Module, shift: th.Tensor, gamma: float, batch: tuple[th.Tensor, ...]
) -> th.Tensor:
    obs, next_obs, reward, dones = batch
    phi = potential(obs).reshape(len(obs))
    phi_next = potential(next_obs).reshape(len(obs))
    return shaped_reward(reward, phi, phi_next, gamma, done=dones, shift=shift)


def _shaped_all(potential: nn.Module, shift: float, data: _Data, gamma: float, chunk: int = 4096) -> np.ndarray:
    """r' on every transition (float64), evaluated in chunks without gradients."""
    n = len(data.reward)
    out = np.empty(n, dtype=np.float64)
    shift_t = th.tensor(shift, device=data.device)
    with th.no_grad():
        for start in range(0, n, chunk):
            index = np.arange(start, min(start + chunk, n))
            out[index] = _shaped(potential, shift_t, gamma, data.batch(index)).double().cpu().numpy()
    return out


def fit_potential(
    obs: np.ndarray,
    next_obs: np.ndarray,
    reward: np.ndarray,
    episode_ids: np.ndarray,
    objective: str,
    potential: nn.Module,
    gamma: float,
    *,
    dones: np.ndarray | None = None,
    train_potential: bool = True,
    batch_size: int = 200,
    lr: float = 1e-3,
    max_epochs: int = 100,
    tol: float = 1e-3,
    patience: int = 3,
    seed: int = 0,
    device: str | th.device = "cpu",
    progress: bool = True,
) -> NeuralPreprocessResult:
    """Fit `potential` (and a shift c) so that r' minimizes `objective`.

    Args:
        obs, next_obs: (N, ...) observations in the representation the potential
            sees at inference (what `RewardNet.preprocess` produces).
        reward: (N,) the reward to preprocess.
        episode_ids: (N,) episode of each transition; transitions in time order.
        objective: one of `objectives.OBJECTIVES`.
        potential: any module mapping a batch of observations to one value each
            (a `rewards.potentials` network, or e.g. a critic). Trained in
            place unless `train_potential` is False, in which case only c is fitted.
        gamma: discount of the shaping.
        dones: (N,) terminal flags; the potential after a terminal transition is 0.
        batch_size: transitions (sparse) or consecutive pairs (smooth) per step.
        max_epochs, tol, patience: stop once `patience` epochs in a row fail to
            lower the full-data objective by more than a fraction `tol` (or at
            `max_epochs`). The best epoch's parameters are returned.
        seed: shuffling seed; with a fixed seed and initial potential the fit is deterministic.

    Smooth objectives do not constrain c; the returned shift makes the median of r' zero.
    """
    check_objective(objective)
    reward = np.asarray(reward, dtype=np.float64)
    n = len(reward)
    if n == 0:
        raise UserError("cannot preprocess an empty set of transitions")
    if not np.isfinite(reward).all():
        raise UserError("reward contains NaN or infinite values; fix the reward model first")
    if len(obs) != n or len(next_obs) != n or len(episode_ids) != n:
        raise UserError("obs, next_obs, reward and episode_ids must have one entry per transition")
    if batch_size < 1 or lr <= 0 or max_epochs < 0 or tol < 0 or patience < 1:
        raise UserError("need batch_size >= 1, lr > 0, max_epochs >= 0, tol >= 0 and patience >= 1")
    dones = np.zeros(n, dtype=bool) if dones is None else np.asarray(dones, dtype=bool)
    device = th.device(device)
    potential = potential.to(device)
    data = _Data(np.asarray(obs), np.asarray(next_obs), reward, dones, device)
    smooth = is_smooth(objective)
    pairs = consecutive_pairs(episode_ids) if smooth else None
    if smooth and len(pairs) == 0:
        raise UserError(f"objective {objective!r} needs episodes with at least two consecutive transitions")
    items = len(pairs) if smooth else n

    def full_objective(shift_value: float) -> float:
        return objective_value(_shaped_all(potential, shift_value, data, gamma), objective, pairs)

    start_time = time.perf_counter()
    value_before = objective_value(reward, objective, pairs)
    shift = th.zeros((), device=device, requires_grad=True)
    params = [shift] + ([p for p in potential.parameters() if p.requires_grad] if train_potential else [])
    optimizer = th.optim.Adam(params, lr=lr)
    generator = th.Generator().manual_seed(seed)
    potential.train(train_potential)

    best_value = value_initial = full_objective(0.0)
    best_state = _snapshot(potential, shift)
    reference, wait, history = best_value, 0, []
    stopped_by, epochs = "max_epochs", 0
    bar = tqdm(range(max_epochs), desc=f"potential ({objective})", disable=not progress, leave=False)
    for epoch in bar:
        order = th.randperm(items, generator=generator).numpy()
        for begin in range(0, items, batch_size):
            chosen = order[begin : begin + batch_size]
            index = pairs[chosen].reshape(-1) if smooth else chosen
            batch = data.batch(index)
            if train_potential:
                shaped = _shaped(potential, shift, gamma, batch)
            else:  # a fixed potential: only c gets a gradient
                with th.no_grad():
                    unshifted = _shaped(potential, th.zeros((), device=device), gamma, batch)
                shaped = unshifted - shift
            # In a smooth batch, rows 2k and 2k + 1 are the consecutive transitions of pair k.
            loss = penalty(shaped[0::2] - shaped[1::2] if smooth else shaped, objective).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        epochs = epoch + 1
        value = full_objective(float(shift.detach()))
        history.append(value)
        bar.set_postfix(objective=f"{value:.6g}")
        if value < best_value:
            best_value, best_state = value, _snapshot(potential, shift)
        if value < reference * (1.0 - tol):
            reference, wait = value, 0
        else:
            wait += 1
            if wait >= patience:
                stopped_by = "patience"
                break
    bar.close()
    potential.load_state_dict(best_state["potential"])
    potential.eval()
    final_shift = float(best_state["shift"])
    if smooth:  # c cancels in differences; centre r' on its median, as the tabular solvers do
        final_shift = float(np.median(_shaped_all(potential, 0.0, data, gamma)))
    return NeuralPreprocessResult(
        potential=potential,
        shift=final_shift,
        objective=objective,
        gamma=float(gamma),
        value_before=value_before,
        value_initial=value_initial,
        value_after=best_value,
        epochs=epochs,
        converged=stopped_by == "patience",
        stopped_by=stopped_by,
        seconds=time.perf_counter() - start_time,
        history=history,
    )


def _snapshot(potential: nn.Module, shift: th.Tensor) -> dict[str, Any]:
    return {
        "potential": {k: v.detach().clone() for k, v in potential.state_dict().items()},
        "shift": float(shift.detach()),
    }
