"""procgen CoinRun as one batched stable-baselines3 `VecEnv`, stepped by procgen's own vectorized C env.

`CoinRunVecEnv` wraps `procgen.ProcgenGym3Env` directly: one ``act`` and one
``observe`` per step for all envs, no per-env Python wrapper. Observations are
the 64×64×3 uint8 RGB frames the agent sees; rewards are procgen's raw rewards
(10 for the coin in CoinRun), never normalized; actions are procgen's 15
button combinations, named in `ACTION_NAMES`.

Episode ends. procgen starts the next level by itself and this build exposes no
final frame: after the step that ends a level, the observation is already the
first frame of the next level. So:

* ``step`` returns that new first frame as the observation (SB3's contract) with
  ``done=True``, and puts the *last frame seen* of the finished level into
  ``info["terminal_observation"]`` (SB3 uses it to bootstrap time-outs).
* A stored terminal transition (see `data/`) is ``(last frame, action, reward,
  last frame, done=True)``: the next observation repeats the last frame, so no
  stored transition ever pairs a frame of one level with a frame of the next.
  The reward stays learnable from what is stored: the coin is reached from the
  last frame with the stored action, and the repeated frame plus ``done`` mark
  the end.

``info`` of a finished episode also holds ``episode`` (return ``r``, length
``l``, in SB3 Monitor's form, so no `VecMonitor` is needed), ``level_complete``
(the coin was reached, i.e. a positive reward ended it) and
``TimeLimit.truncated`` (procgen's 1000-step limit ran out). A death (CoinRun's
saws and enemies) is a true terminal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices, VecEnvStepReturn

from reward_preprocessing.errors import UserError

ENV_NAME = "coinrun"
ENV_ID = "procgen:coinrun"  # the env label written into rollouts and model specs
ACTION_NAMES: tuple[str, ...] = (
    "LEFT+DOWN", "LEFT", "LEFT+UP", "DOWN", "NOOP", "UP", "RIGHT+DOWN", "RIGHT", "RIGHT+UP",
    "D", "A", "W", "S", "Q", "E",
)
OBS_SHAPE = (64, 64, 3)
EPISODE_LIMIT = 1000  # procgen's time limit for CoinRun
COIN_REWARD = 10.0
DISTRIBUTION_MODES = ("easy", "hard", "extreme", "memory", "exploration")


def observation_space() -> spaces.Box:
    return spaces.Box(0, 255, OBS_SHAPE, np.uint8)


def action_space() -> spaces.Discrete:
    return spaces.Discrete(len(ACTION_NAMES))


@dataclass(frozen=True)
class CoinRunOptions:
    """Which levels are played: procgen's ``num_levels`` (0 = unlimited), ``start_level``, ``distribution_mode``."""

    num_levels: int = 0
    start_level: int = 0
    distribution_mode: str = "easy"

    def __post_init__(self) -> None:
        if self.num_levels < 0 or self.start_level < 0:
            raise UserError(f"num_levels and start_level must be >= 0, got {self.num_levels}, {self.start_level}")
        if self.distribution_mode not in DISTRIBUTION_MODES:
            raise UserError(
                f"unknown distribution_mode {self.distribution_mode!r}; choose one of: {', '.join(DISTRIBUTION_MODES)}"
            )
        if self.distribution_mode == "exploration":
            raise UserError("CoinRun has no 'exploration' mode; use easy or hard")

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_mapping(cls, kwargs: dict[str, Any]) -> CoinRunOptions:
        unknown = set(kwargs) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise UserError(f"unknown CoinRun option(s): {', '.join(sorted(unknown))}")
        return cls(**kwargs)


class CoinRunVecEnv(VecEnv):
    """`n_envs` CoinRun games stepped together by procgen (see the module docstring for episode ends).

    Args:
        options: the level distribution.
        n_envs: number of games.
        seed: seeds procgen's level choice; reset ``k`` (counting from 0) uses ``seed + k``, unless SB3's
            ``seed()`` set another base first.
        num_threads: procgen's worker threads (0: step in the calling thread).
        render_mode: ``"rgb_array"`` makes `render_frames` return procgen's 512×512 renders.
    """

    def __init__(
        self,
        options: CoinRunOptions,
        n_envs: int,
        seed: int = 0,
        num_threads: int = 0,
        render_mode: str | None = None,
    ) -> None:
        if n_envs < 1:
            raise UserError(f"n_envs must be >= 1, got {n_envs}")
        if num_threads < 0:
            raise UserError(f"num_threads must be >= 0, got {num_threads}")
        if render_mode not in (None, "rgb_array"):
            raise UserError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.options = options
        self.render_mode = render_mode
        self._base_seed = int(seed)
        self._num_threads = int(num_threads)
        self._resets = 0
        self._game: Any = None
        self._actions = np.zeros(n_envs, dtype=np.int32)
        self._obs = np.zeros((n_envs, *OBS_SHAPE), dtype=np.uint8)
        self._returns = np.zeros(n_envs, dtype=np.float64)
        self._lengths = np.zeros(n_envs, dtype=np.int64)
        super().__init__(n_envs, observation_space(), action_space())

    def _new_game(self, rand_seed: int) -> Any:
        from procgen import ProcgenGym3Env

        if self._game is not None:
            self._game.close()
        return ProcgenGym3Env(
            num=self.num_envs,
            env_name=ENV_NAME,
            num_levels=self.options.num_levels,
            start_level=self.options.start_level,
            distribution_mode=self.options.distribution_mode,
            rand_seed=rand_seed % 2**31,
            num_threads=self._num_threads,
            render_mode=self.render_mode,
        )

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Set the base seed of the following resets (SB3 calls this with the algorithm's seed)."""
        if seed is not None:
            self._base_seed, self._resets = int(seed), 0
        return [self._base_seed] * self.num_envs

    def reset(self) -> np.ndarray:
        """Start fresh games (a new procgen env; procgen cannot reset one game on demand)."""
        self._game = self._new_game(self._base_seed + self._resets)
        self._resets += 1
        _, ob, _ = self._game.observe()
        self._obs = ob["rgb"]
        self._returns[:] = 0.0
        self._lengths[:] = 0
        return self._obs.copy()

    def step_async(self, actions: np.ndarray) -> None:
        actions = np.asarray(actions).reshape(-1)
        if actions.shape != (self.num_envs,):
            raise UserError(f"expected {self.num_envs} actions, got {actions.shape[0]}")
        if actions.min() < 0 or actions.max() >= len(ACTION_NAMES):
            raise UserError(f"actions must be in [0, {len(ACTION_NAMES)}), got {actions.min()}..{actions.max()}")
        self._actions[:] = actions

    def step_wait(self) -> VecEnvStepReturn:
        if self._game is None:
            raise UserError("call reset() before step()")
        self._game.act(self._actions)
        rewards, ob, first = self._game.observe()
        obs = ob["rgb"]
        self._returns += rewards
        self._lengths += 1
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for i in np.flatnonzero(first):  # only the games that just finished
            complete = bool(rewards[i] > 0)
            infos[i] = {
                "terminal_observation": self._obs[i],
                "episode": {"r": float(self._returns[i]), "l": int(self._lengths[i]), "t": 0.0},
                "level_complete": complete,
                "TimeLimit.truncated": (not complete) and self._lengths[i] >= EPISODE_LIMIT,
            }
        self._returns[first] = 0.0
        self._lengths[first] = 0
        self._obs = obs
        return obs.copy(), rewards.astype(np.float32), first.copy(), infos

    def render_frames(self) -> np.ndarray:
        """Procgen's high-resolution renders of the current frames, (n_envs, 512, 512, 3) uint8."""
        if self.render_mode != "rgb_array":
            raise UserError("render_frames needs render_mode='rgb_array'")
        return np.stack([info["rgb"] for info in self._game.get_info()])

    def get_images(self) -> Sequence[np.ndarray | None]:
        return list(self.render_frames()) if self.render_mode == "rgb_array" else list(self._obs)

    def close(self) -> None:
        if self._game is not None:
            self._game.close()
            self._game = None

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        return [getattr(self, attr_name)] * len(list(self._get_indices(indices)))

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        raise UserError(f"CoinRunVecEnv games share their settings; cannot set {attr_name!r} per game")

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:
        raise UserError(f"CoinRunVecEnv has no per-game method {method_name!r}")

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False] * len(list(self._get_indices(indices)))


def make_coinrun_venv(
    options: CoinRunOptions | dict[str, Any], n_envs: int, seed: int = 0, num_threads: int = 0,
    render_mode: str | None = None,
) -> CoinRunVecEnv:
    """A `CoinRunVecEnv` from options given as a dataclass or a config mapping."""
    if not isinstance(options, CoinRunOptions):
        options = CoinRunOptions.from_mapping(dict(options))
    return CoinRunVecEnv(options, n_envs, seed, num_threads, render_mode)


def procgen_threads(threads: int) -> int:
    """procgen worker threads for a job given `threads` cores: none (step inline) on one core."""
    return 0 if threads <= 1 else min(int(threads), 8)
