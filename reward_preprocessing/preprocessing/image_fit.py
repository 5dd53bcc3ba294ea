"""Fit a CNN potential to an image reward on rollouts streamed from disk (CoinRun's preprocessing).

The same objective and stopping rule as `preprocessing.neural.fit_potential`,
with the data access image datasets need: frames are read from disk in
batches (`data.image_rollouts`), never all at once, and the full-data
objective after each epoch evaluates the potential once per *frame* (each frame
is the observation of one transition and the next observation of the one
before it), not twice per transition.

``r'_i = r_i + gamma * (1 - done_i) * phi(frame_i + 1) - phi(frame_i) - c``, where
frame_i is transition i's observation. Smoothness pairs transitions i and i + 1
of the same trajectory only; a level reset starts a new trajectory, so no pair
spans two levels. A smooth batch reads three consecutive frames per pair.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch as th
from torch import nn
from tqdm import tqdm

from reward_preprocessing.data.image_rollouts import ImageRollouts
from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.neural import NeuralPreprocessResult, consecutive_pairs
from reward_preprocessing.preprocessing.objectives import check_objective, is_log, is_smooth, objective_value
from reward_preprocessing.shaping import shaped_reward


@dataclass(frozen=True)
class ImageFitSettings:
    """Minibatch Adam on the objective; stop when `patience` epochs fail to improve it by a fraction `tol`."""

    batch_size: int = 128  # transitions (sparse) or consecutive pairs (smooth) per step
    lr: float = 3e-4
    max_epochs: int = 3
    tol: float = 1e-3
    patience: int = 1
    eval_chunk: int = 512  # frames per forward pass when evaluating the potential on every frame
    seed: int = 0

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.lr <= 0 or self.max_epochs < 0 or self.tol < 0 or self.patience < 1:
            raise UserError("need batch_size >= 1, lr > 0, max_epochs >= 0, tol >= 0 and patience >= 1")
        if self.eval_chunk < 1:
            raise UserError("eval_chunk must be >= 1")


def potential_on_frames(potential: nn.Module, rollouts: ImageRollouts, chunk: int, device: th.device,
                        progress: bool = False) -> np.ndarray:
    """phi of every stored frame (float64), read in sequential chunks."""
    n_frames = rollouts.frames.n_frames
    out = np.empty(n_frames, dtype=np.float64)
    was_training = potential.training
    potential.eval()
    with th.no_grad():
        for begin in tqdm(range(0, n_frames, chunk), desc="potential on frames", disable=not progress, leave=False):
            count = min(chunk, n_frames - begin)
            frames = rollouts.frames.read_runs(np.array([begin]), count)[0]
            out[begin : begin + count] = potential(th.as_tensor(frames, device=device)).double().cpu().numpy()
    potential.train(was_training)
    return out


def shaped_from_frames(reward: np.ndarray, phi: np.ndarray, rollouts: ImageRollouts, gamma: float,
                       shift: float) -> np.ndarray:
    """r' of every transition from phi per frame."""
    f = rollouts.frame_of
    return shaped_reward(reward, phi[f], phi[f + 1], gamma, done=rollouts.dones, shift=shift)


def _shaped_run(reward: th.Tensor, dones: th.Tensor, phi: th.Tensor, index: th.Tensor, k: int, gamma: float,
                shift: th.Tensor) -> th.Tensor:
    """r' of transitions index + k, given phi of the frames of each run (B, run length)."""
    i = index + k
    return shaped_reward(reward[i], phi[:, k], phi[:, k + 1], gamma, done=dones[i], shift=shift)


def _read_batches(rollouts: ImageRollouts, starts: list[np.ndarray], length: int) -> Iterator[np.ndarray]:
    """Runs of `length` frames from each start, the next batch read in the background."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(rollouts.frames.read_runs, starts[0], length) if starts else None
        for k in range(len(starts)):
            frames = pending.result()  # type: ignore[union-attr]
            pending = pool.submit(rollouts.frames.read_runs, starts[k + 1], length) if k + 1 < len(starts) else None
            yield frames


def fit_image_potential(
    rollouts: ImageRollouts,
    reward: np.ndarray,
    objective: str,
    potential: nn.Module,
    gamma: float,
    settings: ImageFitSettings,
    *,
    train_potential: bool = True,
    device: str = "cpu",
    progress: bool = True,
) -> NeuralPreprocessResult:
    """Fit `potential` (in place) and a shift c so that r' minimizes `objective` on `rollouts`.

    Args:
        reward: (N,) the reward model's reward on every transition of `rollouts`.
        potential: maps (B, H, W, C) uint8 images to (B,) values (e.g. `rewards.cnn_potential.CnnPotential`).
        train_potential: False fits only c (a fixed potential, e.g. the expert's critic as it is).
    """
    check_objective(objective)
    reward = np.asarray(reward, dtype=np.float64)
    if len(reward) != len(rollouts):
        raise UserError(f"{len(reward)} rewards for {len(rollouts)} transitions")
    if not np.isfinite(reward).all():
        raise UserError("reward contains NaN or infinite values; fix the reward model first")
    dev = th.device(device)
    potential = potential.to(dev)
    smooth = is_smooth(objective)
    pairs = consecutive_pairs(rollouts.episode_ids) if smooth else None
    if smooth and len(pairs) == 0:
        raise UserError(f"objective {objective!r} needs episodes with at least two consecutive transitions")
    items = len(pairs) if smooth else len(reward)
    reward_t = th.as_tensor(reward, dtype=th.float32, device=dev)
    dones_t = th.as_tensor(rollouts.dones, dtype=th.float32, device=dev)

    def full_value(shift: float) -> float:
        phi = potential_on_frames(potential, rollouts, settings.eval_chunk, dev, progress)
        return objective_value(shaped_from_frames(reward, phi, rollouts, gamma, shift), objective, pairs)

    start_time = time.perf_counter()
    value_before = objective_value(reward, objective, pairs)
    shift = th.zeros((), device=dev, requires_grad=True)
    params = [shift] + ([p for p in potential.parameters() if p.requires_grad] if train_potential else [])
    optimizer = th.optim.Adam(params, lr=settings.lr)
    rng = np.random.default_rng(settings.seed)
    best_value = value_initial = full_value(0.0)
    best = ({k: v.detach().clone() for k, v in potential.state_dict().items()}, 0.0)
    reference, wait, history = best_value, 0, []
    stopped_by, epochs = "max_epochs", 0
    for epoch in range(settings.max_epochs):
        potential.train(train_potential)
        order = rng.permutation(items)
        chunks = [order[i : i + settings.batch_size] for i in range(0, items, settings.batch_size)]
        # transition indices: i (sparse) or i, i + 1 (smooth); frames from frame_of[i] on
        firsts = [pairs[c, 0] if smooth else c for c in chunks]
        length = 3 if smooth else 2
        starts = [rollouts.frame_of[i] for i in firsts]
        bar = tqdm(zip(firsts, _read_batches(rollouts, starts, length), strict=True), total=len(chunks),
                   desc=f"potential ({objective}) epoch {epoch + 1}", disable=not progress, mininterval=5.0)
        for first, frames in bar:
            b = len(first)
            flat = th.as_tensor(frames.reshape(b * length, *frames.shape[2:]), device=dev)
            with th.set_grad_enabled(train_potential):
                phi = potential(flat).reshape(b, length).float()
            index = th.as_tensor(first, device=dev)
            now = _shaped_run(reward_t, dones_t, phi, index, 0, gamma, shift)
            residual = now - _shaped_run(reward_t, dones_t, phi, index, 1, gamma, shift) if smooth else now
            loss = th.log1p(residual.abs()).mean() if is_log(objective) else residual.abs().mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        epochs = epoch + 1
        value = full_value(float(shift.detach()))
        history.append(value)
        if value < best_value:
            best_value = value
            best = ({k: v.detach().clone() for k, v in potential.state_dict().items()}, float(shift.detach()))
        if value < reference * (1.0 - settings.tol):
            reference, wait = value, 0
        else:
            wait += 1
            if wait >= settings.patience:
                stopped_by = "patience"
                break
    potential.load_state_dict(best[0])
    potential.eval()
    final_shift = best[1]
    if smooth:  # c cancels in differences; centre r' on its median, as the other solvers do
        phi = potential_on_frames(potential, rollouts, settings.eval_chunk, dev)
        final_shift = float(np.median(shaped_from_frames(reward, phi, rollouts, gamma, 0.0)))
    return NeuralPreprocessResult(
        potential=potential, shift=final_shift, objective=objective, gamma=float(gamma), value_before=value_before,
        value_initial=value_initial, value_after=best_value, epochs=epochs, converged=stopped_by == "patience",
        stopped_by=stopped_by, seconds=time.perf_counter() - start_time, history=history,
    )

