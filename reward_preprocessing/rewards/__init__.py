"""Reward nets (all `imitation` `RewardNet`s) and their safe storage."""

from reward_preprocessing.rewards.io import load_reward_net, save_reward_net
from reward_preprocessing.rewards.tabular import TabularRewardNet

__all__ = ["TabularRewardNet", "load_reward_net", "save_reward_net"]
