"""Settings of preference learning: every knob of one run, the presets, and the stage's config document.

Kept apart from the training code (`reward_preprocessing.training.preferences`) so that reading or validating
settings imports neither torch nor imitation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from reward_preprocessing.devices import Device
from reward_preprocessing.envs.maze import REWARDS, SHAPINGS, check_choice, layout_from_name
from reward_preprocessing.errors import UserError
from reward_preprocessing.settings import from_mapping

GENERATORS = ("exploratory", "agent")


@dataclass(frozen=True)
class PreferenceSettings:
    """Every knob of one preference-comparisons run (defaults: imitation's script defaults).

    Attributes:
        generator: ``exploratory`` (fixed mixture policy) or ``agent`` (PPO on the learned reward).
        comparisons: total number of preference comparisons.
        fragment_length: transitions per fragment.
        iterations: rounds of (sample, label, train reward[, train agent]).
        timesteps: total PPO steps (``agent`` only).
        initial_comparison_frac: share of the comparisons gathered before the first round.
        initial_epoch_multiplier: extra reward-training epochs on that first batch.
        epochs: reward-training epochs over the whole dataset per round.
        batch_size: comparisons per reward-gradient step.
        lr: AdamW learning rate of the reward table.
        weight_decay: AdamW weight decay (pulls rarely seen transitions to 0).
        transition_oversampling: transitions sampled per transition that ends up in a fragment.
        temperature: Boltzmann temperature of the synthetic teacher.
        sample_preferences: label 0/1 by sampling (True) or give the teacher's probability.
        random_prob: ``exploratory``: probability of a uniformly random action.
        exploring_starts: ``exploratory``: start episodes in any reachable state, not the env's start states.
        exploration_frac: ``agent``: share of sampled steps from imitation's exploration wrapper.
        ppo_envs, ppo_n_steps, ppo_batch_size, ppo_epochs, ppo_lr, ppo_ent_coef: PPO (``agent`` only).
        seed: seeds numpy, torch and the env.
    """

    generator: str = "agent"
    comparisons: int = 5000
    fragment_length: int = 100
    iterations: int = 5
    timesteps: int = 1_000_000
    initial_comparison_frac: float = 0.1
    initial_epoch_multiplier: float = 200.0
    epochs: int = 3
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    transition_oversampling: float = 1.0
    temperature: float = 1.0
    sample_preferences: bool = True
    random_prob: float = 0.5
    exploring_starts: bool = False
    exploration_frac: float = 0.0
    ppo_envs: int = 8
    ppo_n_steps: int = 256
    ppo_batch_size: int = 64
    ppo_epochs: int = 10
    ppo_lr: float = 3e-4
    ppo_ent_coef: float = 0.0
    seed: int = 0

    def validate(self) -> PreferenceSettings:
        """Raise `UserError` naming the first invalid setting; return self."""
        check_choice("generator", self.generator, GENERATORS)
        positive = ["comparisons", "fragment_length", "iterations", "epochs", "batch_size"]
        positive += ["ppo_envs", "ppo_n_steps", "ppo_batch_size", "ppo_epochs"]
        for name in positive:
            if getattr(self, name) < 1:
                raise UserError(f"preference setting {name} must be >= 1, got {getattr(self, name)}")
        for name in ["lr", "initial_epoch_multiplier", "transition_oversampling", "ppo_lr"]:
            if not getattr(self, name) > 0:
                raise UserError(f"preference setting {name} must be > 0, got {getattr(self, name)}")
        for name in ["weight_decay", "temperature", "ppo_ent_coef", "timesteps", "seed"]:
            if getattr(self, name) < 0:
                raise UserError(f"preference setting {name} must be >= 0, got {getattr(self, name)}")
        for name in ["initial_comparison_frac", "random_prob", "exploration_frac"]:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UserError(f"preference setting {name} must be in [0, 1], got {getattr(self, name)}")
        if self.transition_oversampling < 1:
            raise UserError("preference setting transition_oversampling must be >= 1 (fragments need enough steps)")
        if int(self.comparisons * self.initial_comparison_frac) < 1:
            raise UserError("comparisons * initial_comparison_frac must be >= 1: the first round needs comparisons")
        if self.generator == "agent" and self.timesteps < self.iterations:
            raise UserError(f"the agent generator needs timesteps >= iterations ({self.iterations})")
        return self


PRESETS: dict[str, PreferenceSettings] = {
    # Laptop scale: the whole default grid (32 models) in a few minutes on 2 cores. Labels are the
    # teacher's preference probabilities (no Bernoulli noise) and episodes start anywhere, so that
    # every transition, key-holding states included, is compared often enough (see the module docstring).
    "fast": PreferenceSettings(
        generator="exploratory",
        comparisons=4000,
        fragment_length=4,
        iterations=2,
        timesteps=0,
        initial_epoch_multiplier=5.0,
        epochs=2,
        lr=1e-2,
        sample_preferences=False,
        random_prob=0.8,
        exploring_starts=True,
    ),
    # The paper's setting (EmptyMaze10: fragments of 4, 5,000 comparisons, 5e5 PPO steps).
    "paper": PreferenceSettings(generator="agent", comparisons=5000, fragment_length=4, timesteps=500_000),
}


def preference_settings(preset: str = "fast", **overrides: Any) -> PreferenceSettings:
    """A preset with some fields replaced, validated."""
    base = PRESETS.get(preset)
    if base is None:
        raise UserError(f"unknown preference preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    known = {f.name for f in dataclasses.fields(PreferenceSettings)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise UserError(f"unknown preference setting(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return dataclasses.replace(base, **overrides).validate()


@dataclass
class PreferenceStageSettings:
    """One learned maze reward (config: ``preferences``, plus the maze, reward and shaping of the job).

    The run's `PreferenceSettings` are the preset's, with `seed` and every key of `overrides` replaced.
    """

    maze: str
    reward: str
    shaping: str = "unshaped"
    gamma: float = 0.99
    shaping_seed: int = 0
    preset: str = "fast"
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    device: Device = "auto"  # where the `agent` generator's PPO runs

    def __post_init__(self) -> None:
        layout_from_name(self.maze)
        check_choice("reward", self.reward, REWARDS)
        check_choice("shaping", self.shaping, SHAPINGS)
        check_choice("preference preset", self.preset, tuple(PRESETS))

    def run_settings(self) -> PreferenceSettings:
        """The preset with the seed and overrides applied; unknown or mistyped overrides are errors."""
        base = dataclasses.asdict(PRESETS[self.preset])
        return from_mapping(PreferenceSettings, {**base, **self.overrides, "seed": self.seed},
                            "preferences.overrides").validate()
