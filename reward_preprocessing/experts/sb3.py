"""Train, save and load stable-baselines3 experts.

SB3's ``.zip`` is the one format we store that unpickles on load (SB3's own
choice), so `load_sb3_expert` first checks that a file really is an SB3 zip.
Saving leaves out wall-clock fields and fixes zip timestamps, so that the same
config and seed give a byte-identical file.
"""

from __future__ import annotations

import json
import logging
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from tqdm import tqdm

import reward_preprocessing.envs  # noqa: F401  (registers the envs)
from reward_preprocessing.artifacts import ZIP_ERRORS, atomic_path, is_zip
from reward_preprocessing.devices import Device, resolve_device
from reward_preprocessing.envs.spec import env_spec
from reward_preprocessing.errors import ArtifactError, UserError, one_line
from reward_preprocessing.experts.evaluation import evaluate_policy
from reward_preprocessing.experts.features import BoxScaler
from reward_preprocessing.experts.schedules import REBUILT_ON_LOAD, picklable_hyperparams

log = logging.getLogger(__name__)

# Algorithms and features extractors by the names the config uses; a new one is one more entry.
ALGOS: dict[str, type[BaseAlgorithm]] = {"dqn": DQN, "ppo": PPO, "a2c": A2C}
EXTRACTORS: dict[str, type[BaseFeaturesExtractor]] = {"box": BoxScaler}
# Attributes SB3 would save that hold wall-clock times or episode logs (they vary between identical runs).
_NONDETERMINISTIC = ["ep_info_buffer", "ep_success_buffer", "start_time", "_logger", "_custom_logger"]
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


@dataclass
class ExpertSettings:
    """Everything that determines a trained SB3 expert (config: ``envs.<env>.expert`` plus ``experts``)."""

    algo: str = "dqn"
    total_timesteps: int = 120_000
    seed: int = 0
    n_envs: int = 1
    # Options of the env the expert trains in, on top of the env entry's own kwargs.
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    # Constructor arguments of the SB3 algorithm (e.g. rl-zoo's hyperparameters; config/config.yaml).
    hyperparams: dict[str, Any] = field(default_factory=dict)
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    scale_observations: bool = False  # rescale Box observations to [-1, 1] (`BoxScaler`)
    # Every `select_every` steps (0: never) the greedy policy plays `select_episodes` episodes of the task
    # (seeds select_seed + i, apart from the final evaluation's); the best weights are kept, not the last.
    select_every: int = 0
    select_episodes: int = 10
    select_seed: int = 20_000
    # The final evaluation on the unshaped task: episode i is reset with seed eval_seed + i.
    eval_episodes: int = 50
    eval_seed: int = 10_000
    device: Device = "auto"

    def __post_init__(self) -> None:
        if self.algo not in ALGOS:
            raise UserError(f"unknown algorithm {self.algo!r}; choose one of: {', '.join(ALGOS)}")
        if self.total_timesteps <= 0 or self.n_envs <= 0:
            raise UserError("total_timesteps and n_envs must be positive")
        if self.select_every < 0 or self.select_episodes < 1 or self.eval_episodes < 1:
            raise UserError("select_every must be >= 0, select_episodes and eval_episodes >= 1")

    def info(self) -> dict[str, Any]:
        """What expert.json records about how the expert was made (deterministic; no device)."""
        keys = ("algo", "seed", "total_timesteps", "n_envs", "hyperparams", "policy_kwargs", "scale_observations",
                "select_every", "select_episodes")
        return {k: getattr(self, k) for k in keys}


class _ProgressBar(BaseCallback):
    """A tqdm bar over environment steps (SB3's own needs `rich`)."""

    def __init__(self, total: int) -> None:
        super().__init__()
        self.bar = tqdm(total=total, desc="train expert", unit="step", mininterval=5.0)

    def _on_step(self) -> bool:
        self.bar.update(self.training_env.num_envs)
        return True

    def _on_training_end(self) -> None:
        self.bar.close()


class _KeepBest(BaseCallback):
    """Evaluate the greedy policy every `cfg.select_every` steps and at the end; keep the best weights.

    Value-based agents on MountainCar oscillate between solving and forgetting the task; keeping the best
    checkpoint (by success rate, then return; later wins ties) makes the expert reliable.
    """

    def __init__(self, env_id: str, env_kwargs: dict[str, Any], cfg: ExpertSettings) -> None:
        super().__init__()
        self.env_id, self.env_kwargs, self.cfg = env_id, env_kwargs, cfg
        self.checkpoints: list[dict[str, Any]] = []
        self.best_key: tuple[float, float] | None = None
        self.best_state: dict[str, th.Tensor] | None = None
        self.next_eval = cfg.select_every

    def _evaluate(self) -> None:
        cfg = self.cfg
        result = evaluate_policy(self.model, self.env_id, self.env_kwargs, cfg.select_episodes, cfg.select_seed,
                                 progress=False)
        metrics = result.metrics()
        key = (metrics["success_rate"], metrics["eval_return_mean"])
        self.checkpoints.append({"timesteps": self.num_timesteps, "success_rate": key[0], "return_mean": key[1]})
        if self.best_key is None or key >= self.best_key:
            self.best_key = key
            self.best_state = {k: v.detach().clone() for k, v in self.model.policy.state_dict().items()}
        log.info("checkpoint at %d steps: success rate %.2f, return %.1f", self.num_timesteps, *key)

    def _on_step(self) -> bool:
        if self.num_timesteps >= self.next_eval:
            self._evaluate()
            self.next_eval += self.cfg.select_every
        return True

    def _on_training_end(self) -> None:
        if not self.checkpoints or self.checkpoints[-1]["timesteps"] != self.num_timesteps:
            self._evaluate()
        self.model.policy.load_state_dict(self.best_state)


def learn_quietly(model: BaseAlgorithm, steps: int, callback: BaseCallback) -> None:
    """``model.learn`` with SB3's own default logger (no outputs at ``verbose=0``) minus its folder.

    Left to itself, SB3 makes an empty ``/tmp/SB3-<time>`` folder on every ``learn``.
    """
    model.set_logger(Logger(folder=None, output_formats=[]))
    model.learn(steps, callback=callback)


def train_sb3_expert(
    env_id: str, env_kwargs: dict[str, Any], cfg: ExpertSettings, progress: bool = True
) -> tuple[BaseAlgorithm, list[dict[str, Any]]]:
    """Train an SB3 agent on `env_id` (seeded: same settings, same weights) on `cfg.device`.

    The policy class and features extractor come from the env's `EnvSpec`. Returns the model and its
    checkpoint evaluations (empty unless `cfg.select_every`).
    """
    device = resolve_device(cfg.device)
    spec = env_spec(env_id)
    th.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    venv = make_vec_env(env_id, n_envs=cfg.n_envs, seed=cfg.seed, env_kwargs=env_kwargs)
    policy_kwargs = dict(cfg.policy_kwargs)
    if "net_arch" in policy_kwargs:
        policy_kwargs["net_arch"] = list(policy_kwargs["net_arch"])
    extractor = "box" if cfg.scale_observations else spec.features_extractor
    if extractor is not None:
        if extractor not in EXTRACTORS:
            raise UserError(f"unknown features extractor {extractor!r}; known: {', '.join(EXTRACTORS)}")
        policy_kwargs["features_extractor_class"] = EXTRACTORS[extractor]
    try:
        model = ALGOS[cfg.algo](
            spec.policy, venv, seed=cfg.seed, device=device, policy_kwargs=policy_kwargs, verbose=0,
            **picklable_hyperparams(cfg.hyperparams),
        )
    except TypeError as e:
        raise UserError(f"invalid hyperparameters for {cfg.algo}: {e}") from e
    callbacks: list[BaseCallback] = [_ProgressBar(cfg.total_timesteps)] if progress else []
    keep_best = _KeepBest(env_id, env_kwargs, cfg) if cfg.select_every else None
    if keep_best is not None:
        callbacks.append(keep_best)
    learn_quietly(model, cfg.total_timesteps, CallbackList(callbacks))
    return model, keep_best.checkpoints if keep_best is not None else []


def _normalize_zip(path: Path) -> None:
    """Rewrite a zip with fixed timestamps and member order (reproducible bytes).

    SB3's ``data`` member also holds human-readable ``repr``s of objects next to their
    serialized form; their memory addresses (``<function f at 0x7f...>``) are dropped.
    """
    with zipfile.ZipFile(path) as src:
        members = [(info, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w") as dst:
        for info, data in sorted(members, key=lambda m: m[0].filename):
            if info.filename == "data":
                data = re.sub(rb" at 0x[0-9a-f]+>", b">", data)
            fixed = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
            fixed.compress_type = info.compress_type
            fixed.external_attr = 0o644 << 16
            dst.writestr(fixed, data)


def save_sb3_expert(model: BaseAlgorithm, path: str | os.PathLike) -> None:
    """Save atomically in SB3's format, without wall-clock fields or install-path-dependent schedule closures
    (`schedules`): the same weights give the same bytes on every checkout."""
    with atomic_path(path) as tmp:
        model.save(tmp, exclude=_NONDETERMINISTIC + REBUILT_ON_LOAD)
        _normalize_zip(tmp)


def check_sb3_zip(path: str | os.PathLike) -> dict[str, Any]:
    """Check that `path` is an SB3 zip and return its (unparsed-object) ``data`` JSON."""
    path = Path(path)
    if not path.is_file():
        raise ArtifactError(f"{path}: no such expert file; train it first (rule train_expert)")
    if not is_zip(path):
        raise ArtifactError(f"{path}: not a zip file; expected a stable-baselines3 model saved with model.save()")
    try:
        with zipfile.ZipFile(path) as archive:
            if "data" not in archive.namelist():
                raise ArtifactError(f"{path}: zip has no 'data' member; not a stable-baselines3 model")
            data = json.loads(archive.read("data"))
    except (*ZIP_ERRORS, RecursionError) as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ArtifactError(f"{path}: corrupt stable-baselines3 zip ({one_line(e)})") from e
    if not isinstance(data, dict):
        raise ArtifactError(f"{path}: 'data' member is not a JSON object; not a stable-baselines3 model")
    return data


def infer_algo(data: dict[str, Any]) -> str:
    """The algorithm name (dqn, ppo, a2c) from the policy class recorded in SB3's ``data``."""
    module = str(data.get("policy_class", {}).get("__module__", ""))
    for name in ALGOS:
        if f".{name}." in module:
            return name
    if "on_policy" in module or "common.policies" in module:
        raise ArtifactError("cannot tell PPO from A2C by the policy class; pass algo explicitly")
    raise ArtifactError(f"unknown policy class module {module!r}; expected one of {', '.join(ALGOS)}")


def load_sb3_expert(path: str | os.PathLike, algo: str | None = None) -> BaseAlgorithm:
    """Load an SB3 expert on CPU after checking the file (SB3 unpickles parts of it)."""
    data = check_sb3_zip(path)
    algo = algo or infer_algo(data)
    if algo not in ALGOS:
        raise UserError(f"unknown algorithm {algo!r}; choose one of: {', '.join(ALGOS)}")
    try:
        return ALGOS[algo].load(str(path), device="cpu")
    except (KeyError, ValueError, RuntimeError, zipfile.BadZipFile) as e:
        raise ArtifactError(f"{path}: cannot load as a {algo.upper()} model ({one_line(e)})") from e


def critic_values(model: BaseAlgorithm, obs: np.ndarray) -> np.ndarray:
    """The expert's state-value estimate V(s): the value head, or max_a Q(s, a) for DQN."""
    policy = model.policy
    obs_th, _ = policy.obs_to_tensor(obs)
    with th.no_grad():
        if isinstance(model, DQN):
            values = policy.q_net(obs_th).max(dim=1).values
        else:
            values = policy.predict_values(obs_th).squeeze(-1)
    return values.cpu().numpy().astype(np.float64)
