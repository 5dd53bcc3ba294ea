"""Write imitation reward nets with torch.save, and the rewards they give, for the import tests.

The tests call `write_fixtures` at run time (numpy 1, this project's environment). The files in
tests/data/imitation_numpy2/ were written by running this script in a separate virtualenv with numpy 2,
a CPU torch and imitation 1.0.1, as a user of a current environment would:

    python -m venv /tmp/np2 && /tmp/np2/bin/pip install "numpy>=2" torch imitation==1.0.1
    PYTHONPATH=. /tmp/np2/bin/python tests/data/make_imitation_fixtures.py tests/data/imitation_numpy2

Such files name ``numpy._core`` modules and pickle random generators in numpy 2's form, which numpy 1
cannot unpickle on its own.
"""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch as th
from imitation.data.types import TrajectoryWithRew
from imitation.rewards import reward_nets as rn
from imitation.util import networks

import reward_preprocessing.envs  # noqa: F401  (registers the envs)

MOUNTAIN_CAR = "reward_preprocessing/MountainCar-v0"
MAZE = "reward_preprocessing/EmptyMaze4-v0"
IMAGE_SHAPE = (64, 64, 3)


def image_spaces() -> tuple[gym.spaces.Box, gym.spaces.Discrete]:
    """The spaces of a CoinRun-like env (procgen: 64x64 RGB, 15 actions)."""
    return gym.spaces.Box(0, 255, IMAGE_SHAPE, np.uint8), gym.spaces.Discrete(15)


def _spaces(env_id: str) -> tuple[gym.Space, gym.Space]:
    env = gym.make(env_id)
    spaces = env.observation_space, env.action_space
    env.close()
    return spaces


def _seeded(space: gym.Space, seed: int) -> gym.Space:
    """Seed and use the space's generator, so that the pickle carries a random generator's state."""
    space.seed(seed)
    space.sample()
    return space


def make_nets() -> dict[str, tuple[str, rn.RewardNet]]:
    """One net of each kind imitation ships, keyed by fixture name, with the env it belongs to."""
    th.manual_seed(0)
    mc_obs, mc_act = (_seeded(s, i) for i, s in enumerate(_spaces(MOUNTAIN_CAR)))
    maze_obs, maze_act = (_seeded(s, i) for i, s in enumerate(_spaces(MAZE)))
    img_obs, img_act = (_seeded(s, i) for i, s in enumerate(image_spaces()))
    return {
        "mountain_car_basic": (MOUNTAIN_CAR, rn.BasicRewardNet(
            mc_obs, mc_act, use_next_state=True, hid_sizes=(16, 16), normalize_input_layer=networks.RunningNorm)),
        "mountain_car_shaped": (MOUNTAIN_CAR, rn.BasicShapedRewardNet(
            mc_obs, mc_act, reward_hid_sizes=(16,), potential_hid_sizes=(16, 16),
            normalize_input_layer=networks.EMANorm, discount_factor=0.95)),
        "mountain_car_normalized": (MOUNTAIN_CAR, rn.NormalizedRewardNet(
            rn.BasicRewardNet(mc_obs, mc_act, hid_sizes=(8,), activation=th.nn.Tanh), networks.RunningNorm)),
        "maze_basic": (MAZE, rn.BasicRewardNet(maze_obs, maze_act, use_next_state=True, hid_sizes=(16,))),
        "cnn_shaped": ("image", rn.ShapedRewardNet(
            rn.CnnRewardNet(img_obs, img_act, hid_channels=(4, 4), kernel_size=3),
            rn.BasicPotentialCNN(img_obs, hid_sizes=(4,), kernel_size=3), 0.99)),
    }


def sample(obs_space: gym.Space, act_space: gym.Space, n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)

    def draw(space: gym.Space) -> np.ndarray:
        if isinstance(space, gym.spaces.Discrete):
            return rng.integers(space.start, space.start + space.n, size=n)
        if np.issubdtype(space.dtype, np.integer):
            return rng.integers(space.low, space.high, size=(n, *space.shape), endpoint=True).astype(space.dtype)
        return rng.uniform(space.low, space.high, size=(n, *space.shape)).astype(space.dtype)

    return {"obs": draw(obs_space), "acts": draw(act_space), "next_obs": draw(obs_space),
            "dones": rng.random(n) < 0.1}


def rewards(net: rn.RewardNet, batch: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    args = batch["obs"], batch["acts"], batch["next_obs"], batch["dones"]
    kwargs = {"update_stats": False} if isinstance(net, rn.NormalizedRewardNet) else {}
    return net.predict(*args), net.predict_processed(*args, **kwargs)


def exercise(net: rn.RewardNet, seed: int) -> None:
    """Move weights off their init and normalization statistics off identity, as training would."""
    batch = sample(net.observation_space, net.action_space, 32, seed)
    net.train()
    for _ in range(3):
        net(*net.preprocess(batch["obs"], batch["acts"], batch["next_obs"], batch["dones"]))
    if isinstance(net, rn.NormalizedRewardNet):
        net.predict_processed(batch["obs"], batch["acts"], batch["next_obs"], batch["dones"], update_stats=True)
    with th.no_grad():
        for p in net.parameters():
            p.add_(0.1 * th.randn_like(p))
    net.eval()


def rollouts(n_episodes: int = 2, steps: int = 30, seed: int = 0) -> list[TrajectoryWithRew]:
    """Short random-policy MountainCar trajectories (the reference's rollouts.pkl holds such a list)."""
    env = gym.make(MOUNTAIN_CAR)
    env.action_space.seed(seed)
    trajectories = []
    for episode in range(n_episodes):
        obs = [env.reset(seed=seed + episode)[0]]
        acts, rews = [], []
        for _ in range(steps):
            act = env.action_space.sample()
            o, r, *_ = env.step(act)
            obs.append(o), acts.append(act), rews.append(r)
        trajectories.append(TrajectoryWithRew(obs=np.array(obs), acts=np.array(acts), infos=None, terminal=False,
                                              rews=np.array(rews, dtype=np.float64)))
    env.close()
    return trajectories


def write_fixtures(out: str | Path, n: int = 64, seed: int = 0) -> dict[str, str]:
    """Write ``{name}.pt``, ``{name}.expected.npz``, ``rollouts.pkl`` and ``manifest.json``; return name -> env."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    envs = {}
    for i, (name, (env_id, net)) in enumerate(make_nets().items()):
        exercise(net, seed + i)
        th.save(net, out / f"{name}.pt")
        draws = net.observation_space.np_random.random(4)  # what the pickled generator must draw next
        batch = sample(net.observation_space, net.action_space, 8 if env_id == "image" else n, seed + 100 + i)
        plain, processed = rewards(net, batch)
        np.savez_compressed(out / f"{name}.expected.npz", **batch, rewards=plain, rewards_processed=processed,
                            obs_space_draws=draws)
        envs[name] = env_id
    with open(out / "rollouts.pkl", "wb") as f:
        pickle.dump(rollouts(), f)
    import imitation

    manifest = {"envs": envs, "numpy": np.__version__, "torch": th.__version__.split("+")[0],
                "imitation": imitation.__version__}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return envs


if __name__ == "__main__":
    write_fixtures(sys.argv[1])
