"""Gridworld mazes with goal and path rewards and exact potential shaping.

States are integers: ``has_key * size**2 + row * size + col`` (the key bit only
exists in KeyMazes). Five actions: stay, up, right, down, left; a move off the
grid or into a wall leaves the agent where it is and counts as *blocked*.

Shaping adds ``gamma * phi(s') - phi(s)`` to every transition, computed from the
same potential table the env reports, so shaped and unshaped rewards have the
same optimal policy by construction (Ng et al., 1999).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from reward_preprocessing.errors import UserError
from reward_preprocessing.shaping import shaped_reward

ACTION_NAMES = ("stay", "up", "right", "down", "left")
# (row, col) deltas, in the order of ACTION_NAMES.
ACTION_DELTAS = np.array([(0, 0), (-1, 0), (0, 1), (1, 0), (0, -1)], dtype=np.int64)

REWARDS = ("goal", "path")
SHAPINGS = ("unshaped", "dense", "antidense", "random")
PATH_PENALTY = -0.4


@dataclass(frozen=True)
class MazeLayout:
    """The static description of a maze: its grid, goal, key and time limit."""

    size: int
    goal: tuple[int, int]
    time_limit: int
    key: tuple[int, int] | None = None
    walls: frozenset[tuple[int, int]] = field(default_factory=frozenset)

    @property
    def num_cells(self) -> int:
        return self.size * self.size

    @property
    def num_states(self) -> int:
        return self.num_cells * (2 if self.key is not None else 1)


LAYOUTS: dict[str, MazeLayout] = {
    "EmptyMaze4": MazeLayout(size=4, goal=(2, 2), time_limit=8),
    "EmptyMaze10": MazeLayout(size=10, goal=(8, 8), time_limit=20),
    "KeyMaze6": MazeLayout(size=6, goal=(4, 4), time_limit=20, key=(1, 1)),
    "KeyMaze10": MazeLayout(size=10, goal=(8, 8), time_limit=30, key=(1, 1)),
}

# Short names used in targets and config (results/heatmaps/{maze}.png).
SHORT_NAMES: dict[str, str] = {
    "maze4": "EmptyMaze4",
    "maze10": "EmptyMaze10",
    "keymaze6": "KeyMaze6",
    "keymaze10": "KeyMaze10",
}


def env_id(layout_name: str) -> str:
    """The gymnasium id under which a layout is registered."""
    return f"reward_preprocessing/{layout_name}-v0"


def layout_from_name(name: str) -> tuple[str, MazeLayout]:
    """Accept a short name (``maze10``), a layout name or a gymnasium id."""
    key = name.removeprefix("reward_preprocessing/").removesuffix("-v0")
    key = SHORT_NAMES.get(key, key)
    if key not in LAYOUTS:
        choices = ", ".join([*SHORT_NAMES, *LAYOUTS])
        raise UserError(f"unknown maze {name!r}; choose one of: {choices}")
    return key, LAYOUTS[key]


def add_maze_arguments(parser: argparse.ArgumentParser) -> None:
    """The command-line options naming one maze reward: --maze, --reward, --shaping, --gamma, --shaping-seed."""
    parser.add_argument("--maze", required=True, help=", ".join(SHORT_NAMES))
    parser.add_argument("--reward", required=True, help=f"one of {', '.join(REWARDS)}")
    parser.add_argument("--shaping", default="unshaped", help=f"one of {', '.join(SHAPINGS)}")
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--shaping-seed", type=int, default=0)


def check_choice(kind: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise UserError(f"unknown {kind} {value!r}; choose one of: {', '.join(choices)}")
    return value


@dataclass(frozen=True)
class TabularModel:
    """The complete deterministic MDP of a maze, as arrays.

    Attributes:
        next_state: (S, A) successor of each state-action pair.
        blocked: (S, A) True where a move hits the border or a wall.
        reward: (S, A) reward of the transition (s, a, next_state[s, a]), shaping included.
        potential: (S,) the shaping potential (zero when unshaped).
        cells: (S, 2) the (row, col) of each state.
        has_key: (S,) whether the agent holds the key in that state.
        initial: (S,) start distribution.
        gamma: discount the shaping was computed with.
    """

    next_state: np.ndarray
    blocked: np.ndarray
    reward: np.ndarray
    potential: np.ndarray
    cells: np.ndarray
    has_key: np.ndarray
    initial: np.ndarray
    gamma: float
    size: int

    @property
    def num_states(self) -> int:
        return self.next_state.shape[0]

    @property
    def num_actions(self) -> int:
        return self.next_state.shape[1]

    def transitions(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """All (state, action, next_state) triples, flattened in (s, a) order."""
        states = np.repeat(np.arange(self.num_states), self.num_actions)
        actions = np.tile(np.arange(self.num_actions), self.num_states)
        return states, actions, self.next_state.reshape(-1)


def _distance_to_completion(layout: MazeLayout, cells: np.ndarray, has_key: np.ndarray) -> np.ndarray:
    """Manhattan distance to the goal; without the key, the detour via the key."""
    goal = np.array(layout.goal)
    to_goal = np.abs(cells - goal).sum(axis=1)
    if layout.key is None:
        return to_goal.astype(np.float64)
    key = np.array(layout.key)
    via_key = np.abs(cells - key).sum(axis=1) + np.abs(key - goal).sum()
    return np.where(has_key, to_goal, via_key).astype(np.float64)


def potential_table(
    layout: MazeLayout, shaping: str, cells: np.ndarray, has_key: np.ndarray, seed: int = 0
) -> np.ndarray:
    """The shaping potential phi for each state."""
    check_choice("shaping", shaping, SHAPINGS)
    if shaping == "unshaped":
        return np.zeros(len(cells))
    if shaping == "random":
        return np.random.default_rng(seed).uniform(-1.0, 1.0, size=len(cells))
    distance = _distance_to_completion(layout, cells, has_key)
    return -distance if shaping == "dense" else distance


def base_reward_table(layout: MazeLayout, reward: str, cells: np.ndarray, has_key: np.ndarray) -> np.ndarray:
    """The unshaped reward per state (it depends only on where a transition starts)."""
    check_choice("reward", reward, REWARDS)
    if reward == "goal":
        at_goal = (cells == np.array(layout.goal)).all(axis=1)
        if layout.key is not None:
            at_goal &= has_key
        return at_goal.astype(np.float64)
    on_path = (cells[:, 1] == cells[:, 0]) | (cells[:, 1] == cells[:, 0] + 1)
    return np.where(on_path, 0.0, PATH_PENALTY)


def build_tabular_model(
    layout: MazeLayout, reward: str = "goal", shaping: str = "unshaped", gamma: float = 0.99, seed: int = 0
) -> TabularModel:
    """Enumerate every state and action of `layout` into a `TabularModel`."""
    if not 0.0 < gamma <= 1.0:
        raise UserError(f"gamma must be in (0, 1], got {gamma}")
    n = layout.size
    num_states = layout.num_states
    index = np.arange(num_states)
    has_key = index >= layout.num_cells
    cell_index = index % layout.num_cells
    cells = np.stack([cell_index // n, cell_index % n], axis=1)

    target = cells[:, None, :] + ACTION_DELTAS[None, :, :]  # (S, A, 2)
    off_grid = ((target < 0) | (target >= n)).any(axis=2)
    wall = np.zeros_like(off_grid)
    for r, c in layout.walls:
        wall |= (target[..., 0] == r) & (target[..., 1] == c)
    blocked = off_grid | wall
    blocked[:, 0] = False  # staying is never a blocked move
    new_cells = np.where(blocked[..., None], cells[:, None, :], target)
    new_key = np.repeat(has_key[:, None], len(ACTION_NAMES), axis=1)
    if layout.key is not None:
        new_key |= (new_cells == np.array(layout.key)).all(axis=2)
    next_state = new_key * layout.num_cells + new_cells[..., 0] * n + new_cells[..., 1]

    phi = potential_table(layout, shaping, cells, has_key, seed)
    base = base_reward_table(layout, reward, cells, has_key)
    reward_sa = shaped_reward(base[:, None], phi[:, None], phi[next_state], gamma)

    free = np.ones(num_states, dtype=bool)
    for r, c in layout.walls:
        free &= ~((cells[:, 0] == r) & (cells[:, 1] == c))
    initial = (free & ~has_key).astype(np.float64)
    initial /= initial.sum()
    return TabularModel(
        next_state=next_state.astype(np.int64),
        blocked=blocked,
        reward=reward_sa,
        potential=phi,
        cells=cells,
        has_key=has_key,
        initial=initial,
        gamma=float(gamma),
        size=n,
    )


class MazeEnv(gym.Env):
    """A maze as a gymnasium env whose observation is the integer state.

    The time limit is applied by gymnasium's `TimeLimit` at registration.
    """

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 4}

    def __init__(
        self,
        layout: str = "EmptyMaze10",
        reward: str = "goal",
        shaping: str = "unshaped",
        gamma: float = 0.99,
        shaping_seed: int = 0,
        render_mode: str | None = None,
    ) -> None:
        self.layout_name, self.layout = layout_from_name(layout)
        self.reward_name = check_choice("reward", reward, REWARDS)
        self.shaping = check_choice("shaping", shaping, SHAPINGS)
        self.model = build_tabular_model(self.layout, reward, shaping, gamma, shaping_seed)
        self.observation_space = spaces.Discrete(self.model.num_states)
        self.action_space = spaces.Discrete(len(ACTION_NAMES))
        self.render_mode = render_mode
        self._state = 0

    def tabular_model(self) -> TabularModel:
        """The full MDP: successors, blocked moves, rewards and potential."""
        return self.model

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[int, dict]:
        super().reset(seed=seed)
        self._state = int(self.np_random.choice(self.model.num_states, p=self.model.initial))
        return self._state, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict]:
        if not self.action_space.contains(action):
            raise UserError(f"invalid maze action {action!r}; expected an integer in [0, {len(ACTION_NAMES)})")
        state = self._state
        self._state = int(self.model.next_state[state, action])
        reward = float(self.model.reward[state, action])
        return self._state, reward, False, False, {"blocked": bool(self.model.blocked[state, action])}

    def render(self) -> np.ndarray:
        """A small RGB picture: walls grey, goal green, key yellow, agent red."""
        n, scale = self.layout.size, 16
        img = np.full((n, n, 3), 255, dtype=np.uint8)
        for r, c in self.layout.walls:
            img[r, c] = (128, 128, 128)
        img[self.layout.goal] = (0, 170, 0)
        if self.layout.key is not None and not self.model.has_key[self._state]:
            img[self.layout.key] = (230, 200, 0)
        row, col = self.model.cells[self._state]
        img[row, col] = (220, 0, 0)
        return np.kron(img, np.ones((scale, scale, 1), dtype=np.uint8))
