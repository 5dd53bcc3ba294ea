"""``adam``: the reference recipe, kept as the baseline the exact solvers are measured against.

Zero-initialised potential and shift, full-batch Adam, lr 1e-3, 10,000 steps, float32.
"""

from __future__ import annotations

import torch as th

from reward_preprocessing.errors import UserError
from reward_preprocessing.preprocessing.objectives import is_smooth, objective_torch
from reward_preprocessing.preprocessing.solvers.result import SolverResult
from reward_preprocessing.preprocessing.tabular import TabularProblem
from reward_preprocessing.shaping import shaped_reward

OPTIONS = ("lr", "epochs")


def solve_adam(problem: TabularProblem, objective: str, lr: float = 1e-3, epochs: int = 10_000) -> SolverResult:
    """The reference recipe: zero-initialised potential table and shift, full-batch Adam, float32.

    The initialisation is deterministic (zeros, as in the reference), so no seed is needed.
    """
    if lr <= 0 or epochs < 0:
        raise UserError("adam needs lr > 0 and epochs >= 0")
    reward = th.as_tensor(problem.reward, dtype=th.float32)
    states = th.as_tensor(problem.states)
    next_states = th.as_tensor(problem.next_states)
    pairs = th.as_tensor(problem.pairs) if is_smooth(objective) else None
    phi = th.zeros(problem.num_states, requires_grad=True)
    shift = th.zeros((), requires_grad=True)
    optimizer = th.optim.Adam([phi, shift], lr=lr)
    trace = []
    for epoch in range(epochs):
        optimizer.zero_grad()
        shaped = shaped_reward(reward, phi[states], phi[next_states], problem.gamma, shift=shift)
        loss = objective_torch(shaped, objective, pairs)
        loss.backward()
        optimizer.step()
        if epoch % 1000 == 0:
            trace.append(float(loss.detach()))
    info = {"lr": lr, "epochs": epochs, "trace": trace}
    return SolverResult(phi.detach().double().numpy(), float(shift.detach()), epochs, True, info)
