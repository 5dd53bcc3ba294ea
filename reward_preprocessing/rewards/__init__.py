"""Reward nets (all `imitation` `RewardNet`s) and their safe storage."""

# Importing every module that registers a RewardNet class or a potential kind lets `load_reward_net`
# find each class named in a spec.json without the caller importing its module first.
from reward_preprocessing.rewards import (  # noqa: F401
    cnn,
    cnn_potential,
    frames,
    imitation_nets,
    mlp,
    mountain_car,
    potentials,
    shaped,
)
from reward_preprocessing.rewards.io import load_reward_net, save_reward_net
from reward_preprocessing.rewards.tabular import TabularRewardNet

__all__ = ["TabularRewardNet", "load_reward_net", "save_reward_net"]
