"""Potential shaping, the one formula every layer uses (envs, reward models, solvers, neural fits).

``r' = r + gamma * (1 - done) * phi(s') - phi(s) - c``: a potential phi and a
constant c change a reward without changing which policy is optimal (Ng et al.,
1999). A terminal next state (``done``, the env's real termination flag, never a
time limit) has potential 0, as in imitation's shaping.

It is written for anything with arithmetic (numpy arrays, torch tensors,
floats) so that float64 tables, float32 batches and autograd all share it. The
order of operations is fixed: ``((r + discount * phi') - phi) - c``, which keeps
results bit-identical wherever this formula replaced a hand-written copy.
This module imports nothing (no torch), so the lightest env can use it.
"""

from __future__ import annotations

from typing import Any


def shaped_reward(reward: Any, phi: Any, phi_next: Any, gamma: float, *, done: Any = None, shift: Any = None) -> Any:
    """``reward + gamma * (1 - done) * phi_next - phi - shift``, elementwise (broadcasting as the inputs do).

    Args:
        reward: r(s, a, s').
        phi, phi_next: the potential of the state before and after the transition.
        gamma: the discount of the shaping.
        done: termination flags as numbers (1 where the episode terminated, 0 elsewhere, in `reward`'s
            dtype); None when no transition terminates.
        shift: the constant c; None for no shift.
    """
    discount = gamma if done is None else gamma * (1.0 - done)
    shaped = reward + discount * phi_next - phi
    return shaped if shift is None else shaped - shift
