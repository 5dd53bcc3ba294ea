"""``lp``: the L1 objectives are linear programs; `weighted_l1` solves them exactly.

The LP runs on a shaping-free canonical reward (with a duality certificate), so
shaped and unshaped inputs give the same answer.
"""

from __future__ import annotations

from reward_preprocessing.preprocessing.solvers.result import SolverResult
from reward_preprocessing.preprocessing.tabular import TabularProblem
from reward_preprocessing.preprocessing.weighted_l1 import WeightedL1, residual_map

OPTIONS: tuple[str, ...] = ()


def solve_lp(problem: TabularProblem, objective: str) -> SolverResult:
    residuals = residual_map(problem, objective)
    result = WeightedL1(residuals).solve()
    phi, shift = residuals.variables_to_potential(result.x, problem.num_states)
    info = {
        "duality_gap": result.gap,
        "dual_infeasibility": result.dual_infeasibility,
        "simplex_iterations": result.simplex_iterations,
    }
    return SolverResult(phi, shift, 1, True, info)
