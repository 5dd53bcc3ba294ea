"""The shaping formula, the penalty and the MLP builder each exist once and behave the same for every caller."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import torch as th
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import reward_preprocessing
from reward_preprocessing.preprocessing.objectives import OBJECTIVES, objective_torch, objective_value, penalty
from reward_preprocessing.rewards.mlp import build_mlp
from reward_preprocessing.rewards.potentials import BoxMLPPotential, CriticPotential, MLPPotential
from reward_preprocessing.shaping import shaped_reward

PACKAGE_DIR = Path(reward_preprocessing.__file__).parent
floats = st.floats(-1e6, 1e6, allow_nan=False, width=64)
vectors = hnp.arrays(np.float64, 8, elements=floats)


@given(vectors, vectors, vectors, st.floats(0.01, 1.0), hnp.arrays(np.bool_, 8), floats)
def test_formula_matches_its_definition_bit_for_bit(reward, phi, phi_next, gamma, done, shift):
    """The exact float operation order of the copies it replaced: ((r + gamma (1 - d) phi') - phi) - c."""
    d = done.astype(np.float64)
    expected = reward + gamma * (1.0 - d) * phi_next - phi - shift
    np.testing.assert_array_equal(shaped_reward(reward, phi, phi_next, gamma, done=d, shift=shift), expected)
    np.testing.assert_array_equal(shaped_reward(reward, phi, phi_next, gamma), reward + gamma * phi_next - phi)
    # done = 0 everywhere is the same as no done at all, bit for bit.
    np.testing.assert_array_equal(
        shaped_reward(reward, phi, phi_next, gamma, done=np.zeros(8)), shaped_reward(reward, phi, phi_next, gamma)
    )


def test_terminal_next_state_has_potential_zero():
    out = shaped_reward(np.array([1.0, 1.0]), np.array([2.0, 2.0]), np.array([5.0, 5.0]), 0.5, done=np.array([0, 1.0]))
    np.testing.assert_array_equal(out, [1.0 + 2.5 - 2.0, 1.0 - 2.0])


def test_formula_is_differentiable_and_matches_numpy():
    rng = np.random.default_rng(0)
    r, phi, phi_next = (rng.normal(size=16).astype(np.float32) for _ in range(3))
    done = (rng.random(16) < 0.3).astype(np.float32)
    p = th.tensor(phi, requires_grad=True)
    out = shaped_reward(th.tensor(r), p, th.tensor(phi_next), 0.9, done=th.tensor(done), shift=th.tensor(0.25))
    out.sum().backward()
    np.testing.assert_array_equal(out.detach().numpy(), shaped_reward(r, phi, phi_next, np.float32(0.9),
                                                                      done=done, shift=np.float32(0.25)))
    np.testing.assert_array_equal(p.grad.numpy(), -np.ones(16, dtype=np.float32))


@pytest.mark.parametrize("objective", OBJECTIVES)
def test_penalty_is_the_same_for_numpy_and_torch(objective):
    x = np.linspace(-3.0, 3.0, 13)
    np.testing.assert_allclose(penalty(th.tensor(x), objective).numpy(), penalty(x, objective), rtol=1e-15)
    pairs = np.array([[0, 1], [2, 5], [3, 12]])
    torch_value = float(objective_torch(th.tensor(x), objective, th.tensor(pairs)))
    assert torch_value == pytest.approx(objective_value(x, objective, pairs), rel=1e-15)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_mlp_builder_layers_and_seeded_weights(activation):
    th.manual_seed(3)
    a = build_mlp(4, [8, 6], 2, activation)
    th.manual_seed(3)
    b = build_mlp(4, [8, 6], 2, activation)
    kinds = [type(m).__name__ for m in a]
    assert kinds == ["Linear", {"relu": "ReLU", "tanh": "Tanh"}[activation], "Linear", kinds[1], "Linear"]
    for x, y in zip(a.parameters(), b.parameters(), strict=True):
        assert th.equal(x, y)


def test_potentials_use_the_builder():
    """Every MLP potential's layers come from `build_mlp` (same parameter names as a built MLP)."""
    built = set(build_mlp(2, [4], 1).state_dict())
    for module in (MLPPotential(2, [4]).net, BoxMLPPotential([0.0, 0.0], [1.0, 1.0], [4]).net,
                   CriticPotential(2, [4], "relu").net):
        assert set(module.state_dict()) == built


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def shaping_copies(tree: ast.AST) -> list[int]:
    """Lines of expressions shaped like ``r + gamma * ... - phi``: an Add of a product with gamma, minus something."""
    lines = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.BinOp)
            and isinstance(node.op, ast.Sub)
            and isinstance(node.left, ast.BinOp)
            and isinstance(node.left.op, ast.Add)
            and isinstance(node.left.right, ast.BinOp)
            and isinstance(node.left.right.op, ast.Mult)
            and any("gamma" in name for name in _names(node.left.right))
        ):
            lines.append(node.lineno)
    return lines


def test_no_other_copy_of_the_formula():
    """Outside `shaping.py`, no code computes ``r + gamma * phi(s') - phi(s)`` itself."""
    copies = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if path.name != "shaping.py":
            source = path.read_text(encoding="utf-8")
            copies += [f"{path.relative_to(PACKAGE_DIR.parent)}:{line}" for line in shaping_copies(ast.parse(source))]
    assert not copies, "use reward_preprocessing.shaping.shaped_reward instead of the copies at:\n" + "\n".join(copies)


def test_the_copy_detector_sees_copies():
    assert shaping_copies(ast.parse("x = (r\n    + self.gamma * f(s2)\n    - f(s))")) == [1]
    assert shaping_copies(ast.parse("x = r + gamma * (1 - d) * p2 - p - c")) == [1]
    assert shaping_copies(ast.parse("v = r + gamma * v[s2]")) == []
