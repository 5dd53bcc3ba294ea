"""MountainCar with a fixed horizon and exact potential shaping.

Like seals' MountainCar, an episode always lasts `HORIZON` steps: once the car
reaches the goal it stays in an absorbing state that repeats the final
observation and pays 0 instead of -1. Shaping adds ``gamma * phi(s') - phi(s)``
where ``s`` is the state *before* the step and ``s'`` the one after (the
reference code used the state after the step twice, so its env and reward
model disagreed).

The state is rounded to float32 after every step, so the observation *is* the
state: a reward net that sees only observations can reproduce the env's reward
exactly, including the goal test.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from gymnasium.envs.classic_control.mountain_car import MountainCarEnv

from reward_preprocessing.errors import UserError
from reward_preprocessing.shaping import shaped_reward as shaping_formula

if TYPE_CHECKING:
    import torch as th

ENV_ID = "reward_preprocessing/MountainCar-v0"
HORIZON = 200
SHAPINGS = ("unshaped", "dense", "antidense", "random")
GOAL_POSITION = 0.5
GOAL_VELOCITY = 0.0
STEP_PENALTY = -1.0
POTENTIAL_SCALE = 100.0


@dataclass(frozen=True)
class RandomPotentialParams:
    """phi(pos, vel) = 100 * sin(a * pos + b) * sin(c * vel + d).

    `c` is larger than `a` because velocity spans only [-0.07, 0.07] while
    position spans [-1.2, 0.6]; both then make about one to three half-waves.
    """

    a: float
    b: float
    c: float
    d: float

    @classmethod
    def from_seed(cls, seed: int) -> RandomPotentialParams:
        rng = np.random.default_rng(seed)
        a = rng.uniform(1.0, 5.0)
        b = rng.uniform(0.0, 2 * math.pi)
        c = rng.uniform(20.0, 80.0)
        d = rng.uniform(0.0, 2 * math.pi)
        return cls(float(a), float(b), float(c), float(d))


def check_shaping(shaping: str) -> str:
    if shaping not in SHAPINGS:
        raise UserError(f"unknown MountainCar shaping {shaping!r}; choose one of: {', '.join(SHAPINGS)}")
    return shaping


def check_gamma(gamma: float) -> float:
    if not 0.0 < gamma <= 1.0:
        raise UserError(f"gamma must be in (0, 1], got {gamma}")
    return float(gamma)


def _potential(
    pos: Any, vel: Any, shaping: str, params: RandomPotentialParams | None, sin: Any, zeros_like: Any
) -> Any:
    """phi from position and velocity, for either numpy or torch arrays (`sin`, `zeros_like` of that library)."""
    if shaping == "unshaped":
        return zeros_like(pos)
    if shaping == "dense":
        return POTENTIAL_SCALE * pos
    if shaping == "antidense":
        return -POTENTIAL_SCALE * pos
    if shaping == "random":
        if params is None:
            raise UserError("random shaping needs RandomPotentialParams")
        return POTENTIAL_SCALE * sin(params.a * pos + params.b) * sin(params.c * vel + params.d)
    raise UserError(f"unknown MountainCar shaping {shaping!r}; choose one of: {', '.join(SHAPINGS)}")


def potential(obs: np.ndarray, shaping: str, params: RandomPotentialParams | None = None) -> np.ndarray:
    """phi of each observation (..., 2) = (position, velocity), in float64."""
    obs = np.asarray(obs, dtype=np.float64)
    return _potential(obs[..., 0], obs[..., 1], shaping, params, np.sin, np.zeros_like)


def potential_torch(obs: th.Tensor, shaping: str, params: RandomPotentialParams | None = None) -> th.Tensor:
    """Torch twin of `potential` (same float64 arithmetic) for reward nets."""
    import torch as th  # here, not at the top: `import reward_preprocessing` registers the envs without torch

    obs = obs.to(th.float64)
    return _potential(obs[..., 0], obs[..., 1], shaping, params, th.sin, th.zeros_like)


def at_goal(obs: np.ndarray) -> np.ndarray:
    """Whether each observation is the (absorbing) goal state."""
    obs = np.asarray(obs, dtype=np.float64)
    return (obs[..., 0] >= GOAL_POSITION) & (obs[..., 1] >= GOAL_VELOCITY)


def base_reward(obs: np.ndarray) -> np.ndarray:
    """-1 per step until the goal, 0 in the absorbing goal state (depends on the state before the step)."""
    return np.where(at_goal(obs), 0.0, STEP_PENALTY)


def shaped_reward(
    obs: np.ndarray, next_obs: np.ndarray, shaping: str, gamma: float, params: RandomPotentialParams | None = None
) -> np.ndarray:
    """r(s) + gamma * phi(s') - phi(s), vectorized over leading dimensions."""
    phi, phi_next = potential(obs, shaping, params), potential(next_obs, shaping, params)
    return shaping_formula(base_reward(obs), phi, phi_next, gamma)


class ShapedMountainCarEnv(MountainCarEnv):
    """Fixed-horizon MountainCar (`HORIZON` steps via `TimeLimit`) with exact potential shaping.

    Args:
        shaping: unshaped, dense (phi = 100 pos), antidense (phi = -100 pos) or
            random (phi = 100 sin(a pos + b) sin(c vel + d), a..d from `shaping_seed`).
        gamma: discount used in the shaping term.
        shaping_seed: seed of the random potential's parameters.
    """

    def __init__(
        self,
        shaping: str = "unshaped",
        gamma: float = 0.99,
        shaping_seed: int = 0,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode=render_mode)
        self.shaping = check_shaping(shaping)
        self.gamma = check_gamma(gamma)
        self.shaping_seed = int(shaping_seed)
        self.params = RandomPotentialParams.from_seed(self.shaping_seed)
        self.absorbed = False

    def _obs(self) -> np.ndarray:
        return np.array(self.state, dtype=np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed, options=options)
        self.state = self._obs().astype(np.float64)
        self.absorbed = False
        return self._obs(), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise UserError(f"invalid MountainCar action {action!r}; expected 0, 1 or 2")
        obs = self._obs()
        if not self.absorbed:
            super().step(action)
            self.state = self._obs().astype(np.float64)  # observation == state, exactly
            self.absorbed = bool(at_goal(self._obs()))
        next_obs = self._obs()
        reward = float(shaped_reward(obs, next_obs, self.shaping, self.gamma, self.params))
        return next_obs, reward, False, False, {"at_goal": self.absorbed}
