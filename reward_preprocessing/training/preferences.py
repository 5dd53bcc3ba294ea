"""Tabular maze reward models learned from synthetic preference comparisons.

Uses `imitation`'s preference comparisons (DRLHP, Christiano et al. 2017): pairs
of trajectory fragments are labelled by a Boltzmann-rational synthetic teacher
comparing their *shaped* ground-truth returns (`SyntheticGatherer`), and a
`TabularRewardNet` is fit to the labels by cross-entropy (`BasicRewardTrainer`).

Two trajectory generators (``PreferenceSettings.generator``):

- ``agent`` (the paper): imitation's `AgentTrainer`, a PPO agent trained on
  the learned reward between rounds of comparisons.
- ``exploratory`` (the `fast` preset): a fixed mixture of the uniform random
  policy and the ground-truth optimal policy, see `ExploratoryGenerator`.

Everything is seeded and runs on one torch thread, so the same settings give
byte-identical weights.

Why the `fast` preset looks as it does (maze10, 8 rewards x shapings, at a
fixed budget of a few seconds per model): with labels sampled from the teacher
(imitation's default) 2,000-5,000 comparisons reached a correlation with the
ground truth of only 0.26-0.83 (mean 0.5-0.65), and more epochs overfit the
label noise. Giving the teacher's probability instead (``sample_preferences=False``)
lifted it to 0.79-0.98; a more random mixture (``random_prob=0.8``) to 0.99,
with the greedy policy optimal in every state. KeyMaze10 then still lacked
key-holding data (correlation 0 for the unshaped goal reward: random walks
rarely fetch the key and reach the goal in 30 steps); starting episodes in any
reachable state (``exploring_starts``) fixed that (0.86-0.99). Larger learning
rates helped shaped rewards but made the sparse unshaped ones noisy (Adam
scales up the tiny gradients of transitions whose comparisons are ties).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import logging
import os
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch as th
from imitation.algorithms import preference_comparisons as pc
from imitation.util import logger as imit_logger
from tqdm.auto import tqdm

from reward_preprocessing.artifacts import atomic_dir, write_json
from reward_preprocessing.devices import resolve_device
from reward_preprocessing.envs.maze import REWARDS, SHAPINGS, TabularModel, check_choice, env_id, layout_from_name
from reward_preprocessing.errors import UserError
from reward_preprocessing.rewards.ground_truth import make_maze
from reward_preprocessing.rewards.io import write_reward_net
from reward_preprocessing.rewards.tabular import TabularRewardNet
from reward_preprocessing.training.preference_parts import (
    BatchedPreferenceModel,
    ExploratoryGenerator,
    VectorizedFragmenter,
)
from reward_preprocessing.training.preference_settings import (  # noqa: F401  (re-exported)
    GENERATORS,
    PRESETS,
    PreferenceSettings,
    PreferenceStageSettings,
    preference_settings,
)
from reward_preprocessing.training.tabular_metrics import compare_with_ground_truth

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"


@dataclass
class PreferenceRun:
    """A trained reward net with what is needed to save and judge it."""

    net: TabularRewardNet
    env_id: str
    env_kwargs: dict[str, Any]
    metrics: dict[str, Any]


@contextlib.contextmanager
def _single_thread_seeded(seed: int) -> Iterator[None]:
    """One torch thread and a seeded global torch RNG (imitation's DataLoader shuffles with it)."""
    threads = th.get_num_threads()
    th.set_num_threads(1)
    th.manual_seed(seed)
    try:
        yield
    finally:
        th.set_num_threads(threads)


def _agent_generator(
    maze: str,
    env_kwargs: dict[str, Any],
    net: TabularRewardNet,
    settings: PreferenceSettings,
    rng: np.random.Generator,
    logger: imit_logger.HierarchicalLogger,
    device: str = "cpu",
) -> pc.TrajectoryGenerator:
    """imitation's `AgentTrainer`: PPO trained on the learned reward, rollouts labelled by the env's reward."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    name, _ = layout_from_name(maze)
    venv = make_vec_env(env_id(name), n_envs=settings.ppo_envs, seed=settings.seed, env_kwargs=env_kwargs)
    agent = PPO(
        "MlpPolicy",
        venv,
        n_steps=settings.ppo_n_steps,
        batch_size=settings.ppo_batch_size,
        n_epochs=settings.ppo_epochs,
        learning_rate=settings.ppo_lr,
        ent_coef=settings.ppo_ent_coef,
        gamma=env_kwargs["gamma"],
        seed=settings.seed,
        device=device,
    )
    return pc.AgentTrainer(agent, net, venv, rng=rng, exploration_frac=settings.exploration_frac, custom_logger=logger)


def check_request(maze: str, reward: str, shaping: str, gamma: float, settings: PreferenceSettings) -> None:
    """Validate names, gamma and settings before any work starts."""
    _, layout = layout_from_name(maze)
    check_choice("reward", reward, REWARDS)
    check_choice("shaping", shaping, SHAPINGS)
    if not 0.0 < gamma < 1.0:
        raise UserError(f"preference learning plans with value iteration and needs 0 < gamma < 1, got {gamma}")
    settings.validate()
    if settings.fragment_length > layout.time_limit:
        raise UserError(
            f"fragment_length {settings.fragment_length} exceeds {maze}'s episode length {layout.time_limit}"
        )


def train_preference_model(
    maze: str,
    reward: str,
    shaping: str,
    settings: PreferenceSettings,
    gamma: float = 0.99,
    shaping_seed: int = 0,
    progress: bool = True,
    device: str = "auto",
) -> PreferenceRun:
    """Learn a tabular reward for one maze, reward and shaping from synthetic preferences.

    The teacher labels fragments by their shaped ground-truth return, so the
    net should recover the *shaped* reward (up to a constant and scale). `device`
    is where the ``agent`` generator's PPO runs; the tabular reward net stays on the CPU.
    """
    check_request(maze, reward, shaping, gamma, settings)
    resolve_device(device)  # an unusable device fails before any work
    env = make_maze(maze, reward, shaping, gamma, shaping_seed=shaping_seed)
    model = env.tabular_model()
    env_kwargs = {"reward": reward, "shaping": shaping, "gamma": gamma, "shaping_seed": shaping_seed}
    start, cpu_start = time.perf_counter(), time.process_time()
    with _single_thread_seeded(settings.seed), tempfile.TemporaryDirectory(prefix="imitation-log-") as log_dir:
        rng = np.random.default_rng(settings.seed)
        logger = imit_logger.configure(log_dir, [])  # progress goes to tqdm and our log, not to files
        net = TabularRewardNet(env.observation_space, env.action_space)
        if settings.generator == "exploratory":
            generator = ExploratoryGenerator(
                model, env.layout.time_limit, settings.random_prob, rng, settings.exploring_starts, logger
            )
        else:
            generator = _agent_generator(maze, env_kwargs, net, settings, rng, logger, resolve_device(device))
        trainer = pc.BasicRewardTrainer(
            BatchedPreferenceModel(net),
            pc.CrossEntropyRewardLoss(),
            rng=rng,
            batch_size=settings.batch_size,
            epochs=settings.epochs,
            lr=settings.lr,
            custom_logger=logger,
        )
        # BasicRewardTrainer takes no weight decay; AdamW as it builds it, with ours.
        trainer.optim = th.optim.AdamW(net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay)
        algorithm = pc.PreferenceComparisons(
            generator,
            net,
            num_iterations=settings.iterations,
            fragmenter=VectorizedFragmenter(rng=rng, warning_threshold=0, custom_logger=logger),
            preference_gatherer=pc.SyntheticGatherer(
                temperature=settings.temperature, sample=settings.sample_preferences, rng=rng, custom_logger=logger
            ),
            reward_trainer=trainer,
            fragment_length=settings.fragment_length,
            transition_oversampling=settings.transition_oversampling,
            initial_comparison_frac=settings.initial_comparison_frac,
            initial_epoch_multiplier=settings.initial_epoch_multiplier,
            custom_logger=logger,
        )
        bar = tqdm(total=settings.iterations + 1, desc=f"preferences {maze} {reward} {shaping}", disable=not progress)
        with bar, contextlib.redirect_stdout(io.StringIO()) as printed, warnings.catch_warnings():
            # imitation prints its query schedule, and warns about integer (Discrete) observations.
            warnings.filterwarnings("ignore", message="tried to wrap")
            stats = algorithm.train(settings.timesteps, settings.comparisons, callback=lambda _: bar.update())
        log.info("%s", printed.getvalue().strip())
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start

    metrics = compare_with_ground_truth(learned_rewards(net, model), model)
    metrics.update(
        {
            "maze": maze,
            "reward": reward,
            "shaping": shaping,
            "comparisons_used": len(algorithm.dataset),
            "transition_coverage": _coverage(algorithm.dataset, model),
            "preference_accuracy": float(stats["reward_accuracy"]),
            "preference_loss": float(stats["reward_loss"]),
            "settings": dataclasses.asdict(settings),
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
        }
    )
    return PreferenceRun(net=net, env_id=env_id(env.layout_name), env_kwargs=env_kwargs, metrics=metrics)


def save_preference_run(run: PreferenceRun, out_dir: str | os.PathLike) -> None:
    """Write the model directory (``model.safetensors`` + ``spec.json``) with ``metrics.json`` inside, atomically.

    `spec.json` holds only deterministic content (the settings); wall time goes to `metrics.json`.
    """
    metadata = {"source": "learned", "method": "preference_comparisons", "settings": run.metrics["settings"]}
    with atomic_dir(out_dir) as tmp:
        write_reward_net(run.net, tmp, run.env_id, run.env_kwargs, metadata=metadata)
        write_json(tmp / METRICS_FILE, run.metrics)


def learned_rewards(net: TabularRewardNet, model: TabularModel) -> np.ndarray:
    """The (S, A) reward a tabular net assigns to each transition of the maze."""
    table = net.table.detach().cpu().numpy().astype(np.float64)
    s, a = np.meshgrid(np.arange(model.num_states), np.arange(model.num_actions), indexing="ij")
    return table[s, a, model.next_state]


def _coverage(dataset: pc.PreferenceDataset, model: TabularModel) -> float:
    """Fraction of the maze's (s, a) transitions that occur in some compared fragment."""
    seen = np.zeros((model.num_states, model.num_actions), dtype=bool)
    for f in (*dataset.fragments1, *dataset.fragments2):
        seen[f.obs[:-1], f.acts] = True
    return float(seen.mean())
