"""Transitions of image rollouts as torch batches, read from disk in the background; a reward net over them.

Used by CNN reward training and by preprocessing, which both stream datasets
that do not fit in memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch as th
from imitation.rewards.reward_nets import RewardNet
from tqdm import tqdm

from reward_preprocessing.data.image_rollouts import ImageRollouts


@dataclass
class TransitionTensors:
    """One batch on the model's device: uint8 images, action indices, done flags and raw rewards."""

    obs: th.Tensor
    next_obs: th.Tensor
    acts: th.Tensor
    dones: th.Tensor
    rews: th.Tensor


def transition_batches(
    rollouts: ImageRollouts, index: np.ndarray, batch_size: int, device: str
) -> Iterator[TransitionTensors]:
    """Batches of `index` in order, each read by a background thread while the caller works on the previous."""

    def read(chunk: np.ndarray) -> tuple[np.ndarray, ...]:
        obs, next_obs = rollouts.transitions(chunk)
        return obs, next_obs, rollouts.acts[chunk], rollouts.dones[chunk], rollouts.rews[chunk]

    chunks = [index[i : i + batch_size] for i in range(0, len(index), batch_size)]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(read, chunks[0]) if chunks else None
        for k in range(len(chunks)):
            arrays = pending.result()  # type: ignore[union-attr]
            pending = pool.submit(read, chunks[k + 1]) if k + 1 < len(chunks) else None
            obs, next_obs, acts, dones, rews = (th.as_tensor(a).to(device, non_blocking=True) for a in arrays)
            yield TransitionTensors(obs, next_obs, acts, dones, rews.float())


def forward_batch(net: RewardNet, batch: TransitionTensors, bf16: bool) -> th.Tensor:
    """The net's reward of each transition (float32), optionally under bfloat16 autocast."""
    with th.autocast(batch.obs.device.type, dtype=th.bfloat16, enabled=bf16):
        out = net(batch.obs, batch.acts, batch.next_obs, batch.dones)
    return out.float()


def predict_rewards(net: RewardNet, rollouts: ImageRollouts, index: np.ndarray, batch_size: int = 512,
                    bf16: bool = False, progress: bool = False) -> np.ndarray:
    """The model's reward on the transitions `index` (float64), streamed."""
    device = str(next(net.parameters()).device)
    out = np.empty(len(index), dtype=np.float64)
    net.eval()
    pos = 0
    with th.no_grad():
        batches = transition_batches(rollouts, index, batch_size, device)
        for batch in tqdm(batches, total=math.ceil(len(index) / batch_size), desc="predict", disable=not progress,
                          leave=False):
            pred = forward_batch(net, batch, bf16).double().cpu().numpy()
            out[pos : pos + len(pred)] = pred
            pos += len(pred)
    return out
