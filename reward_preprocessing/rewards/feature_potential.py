"""Potentials linear in fixed features of the box-scaled observation: ``Phi(s) = w . phi(s)``.

Because Phi is linear in w, the L1 preprocessing objectives over a set of
transitions are linear programs in (w, c), solved exactly by
`preprocessing.feature_lp`, instead of a non-convex fit of a network.

The observation is flattened and rescaled to x in [-1, 1]^d by the bounds of
its Box space; the feature map is a concatenation of components:

* ``polynomial`` (``degree``): every monomial of total degree 1..degree, in the
  Chebyshev basis ``T_i(x_1) T_j(x_2) ...`` (the same span as plain monomials,
  far better conditioned). Degree >= 1 represents linear potentials exactly.
* ``fourier`` (``order``): ``cos(pi k . u)`` with u = (x + 1) / 2 in [0, 1]^d
  and every integer vector k in {0..order}^d except 0 (Konidaris et al.'s basis).
* ``rbf`` (``per_dim``, ``width``): Gaussians on a regular grid of per_dim^d
  centres over [-1, 1]^d, standard deviation ``width`` times the grid spacing.

No component has a constant feature: a constant potential only changes the
shift c, which is a variable of its own. Features are computed in float64 in
torch; numpy callers go through the same code, so solver and model agree to
the last bit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch as th
from torch import nn

from reward_preprocessing.errors import UserError

COMPONENT_KINDS = ("polynomial", "fourier", "rbf")
_PARAMETERS: dict[str, dict[str, type]] = {
    "polynomial": {"degree": int},
    "fourier": {"order": int},
    "rbf": {"per_dim": int, "width": float},
}
_DEFAULTS: dict[str, dict[str, Any]] = {"rbf": {"width": 1.0}}


def check_component(component: Mapping[str, Any]) -> dict[str, Any]:
    """A component spec with its defaults filled in, or one line saying what is wrong with it."""
    if not isinstance(component, Mapping) or component.get("kind") not in COMPONENT_KINDS:
        raise UserError(
            f"feature component {component!r} needs 'kind' in: {', '.join(COMPONENT_KINDS)}"
        )
    kind = component["kind"]
    allowed = _PARAMETERS[kind]
    unknown = set(component) - {"kind", *allowed}
    if unknown:
        raise UserError(f"{kind} features take {', '.join(allowed)}, not {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {"kind": kind, **_DEFAULTS.get(kind, {})}
    for name, tp in allowed.items():
        if name not in component and name not in out:
            raise UserError(f"{kind} features need {name!r}")
        value = component.get(name, out.get(name))
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise UserError(f"{kind} features: {name} must be a number, got {value!r}")
        if tp is int and int(value) != value:
            raise UserError(f"{kind} features: {name} must be an integer, got {value!r}")
        out[name] = tp(value)
    if kind == "polynomial" and out["degree"] < 1:
        raise UserError(f"polynomial features need degree >= 1, got {out['degree']}")
    if kind == "fourier" and out["order"] < 1:
        raise UserError(f"fourier features need order >= 1, got {out['order']}")
    if kind == "rbf" and (out["per_dim"] < 2 or out["width"] <= 0):
        raise UserError(f"rbf features need per_dim >= 2 and width > 0, got {out['per_dim']}, {out['width']}")
    return out


def _degree_indices(dim: int, degree: int) -> list[tuple[int, ...]]:
    """Multi-indices of total degree 1..degree, graded then lexicographic (a fixed, documented order)."""
    out = []
    for total in range(1, degree + 1):
        out += sorted((a for a in itertools.product(range(total + 1), repeat=dim) if sum(a) == total), reverse=True)
    return out


def component_size(component: Mapping[str, Any], dim: int) -> int:
    """Number of features of one component on a `dim`-dimensional observation (without building them)."""
    c = check_component(component)
    if c["kind"] == "polynomial":
        return math.comb(c["degree"] + dim, dim) - 1
    if c["kind"] == "fourier":
        return (c["order"] + 1) ** dim - 1
    return c["per_dim"] ** dim


class FeatureMap(nn.Module):
    """phi: observations (N, ...) -> features (N, K) in float64. No weights; everything is rebuilt from the spec."""

    def __init__(
        self, low: Sequence[float], high: Sequence[float], components: Sequence[Mapping[str, Any]]
    ) -> None:
        super().__init__()
        lo, hi = np.asarray(low, dtype=np.float64).ravel(), np.asarray(high, dtype=np.float64).ravel()
        if lo.shape != hi.shape or lo.size == 0 or not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise UserError("feature potentials need finite observation bounds (a Box space with finite low and high)")
        if not (hi > lo).all():
            raise UserError("feature potentials need high > low in every observation dimension")
        if not components:
            raise UserError("a feature map needs at least one component (polynomial, fourier or rbf)")
        self.low, self.high = lo.tolist(), hi.tolist()
        self.dim = lo.size
        self.components = [check_component(c) for c in components]
        self.sizes = [component_size(c, self.dim) for c in self.components]
        self.num_features = int(sum(self.sizes))
        self.register_buffer("centre", th.as_tensor((lo + hi) / 2), persistent=False)
        self.register_buffer("half_width", th.as_tensor((hi - lo) / 2), persistent=False)

    def spec(self) -> dict[str, Any]:
        return {"low": self.low, "high": self.high, "components": [dict(c) for c in self.components]}

    def scaled(self, obs: th.Tensor) -> th.Tensor:
        x = obs.reshape(len(obs), -1).to(th.float64)
        if x.shape[1] != self.dim:
            raise UserError(f"feature map expects observations with {self.dim} entries, got {x.shape[1]}")
        return (x - self.centre) / self.half_width

    def forward(self, obs: th.Tensor) -> th.Tensor:
        x = self.scaled(obs)
        parts = [self._component(c, x) for c in self.components]
        return th.cat(parts, dim=1)

    def numpy(self, obs: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """Features of a numpy batch, (N, K) float64, computed in chunks to bound temporary memory."""
        obs = np.asarray(obs)
        out = np.empty((len(obs), self.num_features), dtype=np.float64)
        threads = th.get_num_threads()
        th.set_num_threads(1)  # elementwise products: extra threads only spin (10x the CPU time on a busy machine)
        try:
            with th.no_grad():
                for start in range(0, len(obs), chunk):
                    out[start : start + chunk] = self(th.as_tensor(obs[start : start + chunk])).numpy()
        finally:
            th.set_num_threads(threads)
        return out

    def _component(self, c: dict[str, Any], x: th.Tensor) -> th.Tensor:
        if c["kind"] == "polynomial":
            return _chebyshev_products(x, c["degree"])
        if c["kind"] == "fourier":
            ks = [k for k in itertools.product(range(c["order"] + 1), repeat=self.dim) if any(k)]
            freq = th.tensor(ks, dtype=th.float64, device=x.device)  # (K, d)
            return th.cos(math.pi * ((x + 1.0) / 2.0) @ freq.T)
        axis = th.linspace(-1.0, 1.0, c["per_dim"], dtype=th.float64, device=x.device)
        centres = th.cartesian_prod(*([axis] * self.dim)).reshape(-1, self.dim)
        sigma = c["width"] * 2.0 / (c["per_dim"] - 1)
        return th.exp(-th.cdist(x, centres).square() / (2.0 * sigma * sigma))


def _chebyshev_products(x: th.Tensor, degree: int) -> th.Tensor:
    """T_a1(x_1) ... T_ad(x_d) for every multi-index a of total degree 1..degree."""
    t = [th.ones_like(x), x]
    for _ in range(2, degree + 1):
        t.append(2.0 * x * t[-1] - t[-2])
    indices = _degree_indices(x.shape[1], degree)
    if x.requires_grad and th.is_grad_enabled():  # out= products do not record gradients
        return th.stack([math.prod((t[k][:, j] for j, k in enumerate(index) if k), start=th.ones_like(x[:, 0]))
                         for index in indices], dim=1)
    # t_j[k] = T_k(x_j), contiguous; a product starts from its first factor (1 * a == a exactly).
    per_dim = [[tk[:, j].contiguous() for tk in t] for j in range(x.shape[1])]
    out = th.empty((len(indices), len(x)), dtype=th.float64, device=x.device)
    for row, index in enumerate(indices):
        factors = [per_dim[j][k] for j, k in enumerate(index) if k]
        if len(factors) == 1:
            out[row] = factors[0]
        else:
            th.mul(factors[0], factors[1], out=out[row])
            for factor in factors[2:]:
                out[row].mul_(factor)
    return out.T


class FeaturePotential(nn.Module):
    """Phi(s) = w . phi(s) in float64 (so that exactly representable shapings are removed to rounding)."""

    def __init__(
        self, low: Sequence[float], high: Sequence[float], components: Sequence[Mapping[str, Any]]
    ) -> None:
        super().__init__()
        self.feature_map = FeatureMap(low, high, components)
        self.weight = nn.Parameter(th.zeros(self.feature_map.num_features, dtype=th.float64))

    def forward(self, obs: th.Tensor) -> th.Tensor:
        return self.feature_map(obs) @ self.weight

    def set_weights(self, weights: np.ndarray) -> FeaturePotential:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != (self.feature_map.num_features,) or not np.isfinite(weights).all():
            raise UserError(f"a feature potential needs {self.feature_map.num_features} finite weights")
        with th.no_grad():
            self.weight.copy_(th.as_tensor(weights))
        return self

    def spec(self) -> dict[str, Any]:
        return {"kind": "features", "kwargs": self.feature_map.spec()}
