"""Tabular reward nets: one learnable value per (state, action, next_state).

Ground-truth maze rewards, rewards learned from preferences and preprocessed
rewards are all this one class, so every tabular model is stored, loaded and
plotted the same way.
"""

from __future__ import annotations

import numpy as np
import torch as th
from gymnasium import spaces
from imitation.rewards.reward_nets import RewardNet

from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.registry import register_reward_net


@register_reward_net
class TabularRewardNet(RewardNet):
    """A reward table of shape (num_states, num_actions, num_states).

    Inputs arrive one-hot encoded (imitation's preprocessing of `Discrete`
    spaces), so indexing by argmax is exact and keeps gradients on the table.
    Exact tables (ground truth, preprocessed) use float64 so that shaping stays
    exact; learned ones default to float32 like the rest of torch.
    """

    def __init__(
        self, observation_space: spaces.Space, action_space: spaces.Space, dtype: str = "float32"
    ) -> None:
        if not isinstance(observation_space, spaces.Discrete) or not isinstance(action_space, spaces.Discrete):
            raise UserError("TabularRewardNet needs Discrete observation and action spaces")
        super().__init__(observation_space, action_space, normalize_images=False)
        self.num_states = int(observation_space.n)
        self.num_actions = int(action_space.n)
        if dtype not in ("float32", "float64"):
            raise UserError(f"TabularRewardNet dtype must be float32 or float64, got {dtype!r}")
        self.dtype_name = dtype
        self.table = th.nn.Parameter(
            th.zeros(self.num_states, self.num_actions, self.num_states, dtype=getattr(th, dtype))
        )

    def spec_kwargs(self) -> dict:
        """Constructor arguments beyond the spaces."""
        return {"dtype": self.dtype_name}

    def forward(self, state: th.Tensor, action: th.Tensor, next_state: th.Tensor, done: th.Tensor) -> th.Tensor:
        s = state.argmax(dim=-1)
        a = action.argmax(dim=-1)
        s_next = next_state.argmax(dim=-1)
        return self.table[s, a, s_next]

    @classmethod
    def from_table(
        cls,
        table: np.ndarray,
        observation_space: spaces.Discrete,
        action_space: spaces.Discrete,
        dtype: str = "float64",
    ) -> TabularRewardNet:
        """Wrap a full (S, A, S) reward array (float64 by default: it is exact)."""
        net = cls(observation_space, action_space, dtype=dtype)
        expected = (net.num_states, net.num_actions, net.num_states)
        if table.shape != expected:
            raise UserError(f"reward table has shape {table.shape}, expected {expected}")
        with th.no_grad():
            net.table.copy_(th.as_tensor(table, dtype=net.table.dtype))
        return net

    @classmethod
    def from_transitions(
        cls,
        reward_sa: np.ndarray,
        next_state: np.ndarray,
        observation_space: spaces.Discrete,
        action_space: spaces.Discrete,
    ) -> TabularRewardNet:
        """Build from an (S, A) reward of a deterministic MDP; other successors get 0."""
        num_states, num_actions = reward_sa.shape
        table = np.zeros((num_states, num_actions, num_states))
        s, a = np.meshgrid(np.arange(num_states), np.arange(num_actions), indexing="ij")
        table[s, a, next_state] = reward_sa
        return cls.from_table(table, observation_space, action_space)
