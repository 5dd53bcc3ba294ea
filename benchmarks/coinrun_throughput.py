"""CoinRun throughput and memory: env, PPO, IMPALA, CNN reward training, and its peak memory at 1x and 10x data.

Measures on the machine it runs on (CPU, and the GPU when one is available):

* raw env steps/s: random actions, batched (`CoinRunVecEnv`), procgen stepping inline and with 2 threads;
* PPO training steps/s (rollouts + updates) at the default CPU scale's shape, for a few rollouts;
* IMPALA forward+backward samples/s at PPO's minibatch, NCHW float32, channels-last, channels-last + bf16;
* CNN reward-net training transitions/s (one epoch on the given rollouts);
* peak RSS of reward-net training (`scripts/train_cnn_reward.py`, a child process) on the given rollouts and on
  a 10x larger dataset made of the same frame files listed ten times (no extra disk), same number of batches.

Prints a table and writes JSON to benchmarks/results/coinrun_throughput.json.

    .venv/bin/python benchmarks/coinrun_throughput.py --rollouts results/rollouts/coinrun [--threads 2] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch as th
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reward_preprocessing.artifacts import dumps_json, write_json  # noqa: E402
from reward_preprocessing.data.image_rollouts import META_FILE, open_image_rollouts  # noqa: E402
from reward_preprocessing.envs.procgen import CoinRunOptions, make_coinrun_venv  # noqa: E402
from reward_preprocessing.experts.coinrun_ppo import CoinRunExpertSettings, build_ppo  # noqa: E402
from reward_preprocessing.experts.impala import ImpalaCNN  # noqa: E402
from reward_preprocessing.settings import from_mapping  # noqa: E402


def env_steps_per_second(n_envs: int, num_threads: int, seconds: float) -> float:
    venv = make_coinrun_venv(CoinRunOptions(num_levels=200), n_envs, seed=0, num_threads=num_threads)
    venv.reset()
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, 15, n_envs) for _ in range(64)]
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        venv.step(actions[steps // n_envs % 64])
        steps += n_envs
    rate = steps / (time.perf_counter() - start)
    venv.close()
    return rate


def ppo_steps_per_second(device: str, threads: int, rollouts: int) -> float:
    settings = from_mapping(CoinRunExpertSettings, {
        "env": {"num_levels": 200}, "ppo": {"n_envs": 32, "n_steps": 128, "batch_size": 1024, "gamma": 0.99},
        "total_timesteps": 4096 * (rollouts + 1), "device": device, "threads": threads,
    })
    model = build_ppo(settings, device)
    model.learn(4096)  # warm-up: first rollout and update
    start = time.perf_counter()
    model.learn(4096 * rollouts, reset_num_timesteps=False)
    rate = 4096 * rollouts / (time.perf_counter() - start)
    model.get_env().close()
    return rate


def impala_samples_per_second(device: str, batch: int, channels_last: bool, bf16: bool, repeats: int) -> float:
    from gymnasium import spaces

    net = ImpalaCNN(spaces.Box(0, 1, (3, 64, 64), np.float32), channels_last=channels_last, bf16=bf16).to(device)
    head = th.nn.Linear(256, 16).to(device)
    optimizer = th.optim.Adam([*net.parameters(), *head.parameters()], lr=1e-4)
    x = th.rand(batch, 3, 64, 64, device=device)
    times = []
    for i in range(repeats + 1):
        if device == "cuda":
            th.cuda.synchronize()
        start = time.perf_counter()
        loss = head(net(x)).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if device == "cuda":
            th.cuda.synchronize()
        if i:  # the first pass allocates and picks kernels
            times.append(time.perf_counter() - start)
    return batch / float(np.median(times))


def tile_rollouts(src: Path, dst: Path, times: int) -> Path:
    """A rollout directory with `src`'s data `times` over: its frame shards linked, its arrays tiled."""
    meta = json.loads((src / META_FILE).read_text())
    dst.mkdir()
    shards = []
    for k in range(times):
        for name in meta["shards"]:
            link = dst / f"{k:02d}-{name}"
            link.symlink_to((src / name).resolve())
            shards.append(link.name)
    rollouts = open_image_rollouts(src)
    np.save(dst / "acts.npy", np.tile(rollouts.acts.astype(np.int8), times))
    np.save(dst / "rews.npy", np.tile(rollouts.rews, times))
    np.save(dst / "terminal.npy", np.tile(rollouts.terminal, times))
    np.save(dst / "indices.npy", np.cumsum(np.tile(rollouts.lengths, times)[:-1]))
    n = len(rollouts) * times
    tiled = {**meta, "shards": shards, "n_transitions": n, "n_trajectories": rollouts.n_trajectories * times,
             "n_frames": rollouts.frames.n_frames * times}
    (dst / META_FILE).write_text(dumps_json(tiled))
    return dst


def _peak_rss_mb(pid: int) -> float:
    """VmHWM of a running process (its own peak; getrusage's ru_maxrss would include the parent's at fork)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else 0.0


def reward_training(rollouts: Path, settings: dict[str, Any], threads: int) -> dict[str, float]:
    """Run scripts/train_cnn_reward.py in a child process; its peak RSS (polled) and training throughput."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        log = Path(tmp) / "log"
        with open(log, "w") as err:
            proc = subprocess.Popen(
                [sys.executable, str(ROOT / "scripts/train_cnn_reward.py"), "--rollouts", str(rollouts),
                 "--settings", json.dumps(settings), "--threads", str(threads), "--out", f"{tmp}/model"],
                stdout=subprocess.DEVNULL, stderr=err, env=env,
            )
            peak = 0.0
            while proc.poll() is None:
                peak = max(peak, _peak_rss_mb(proc.pid))
                time.sleep(0.2)
        if proc.returncode:
            raise SystemExit(f"reward training failed:\n{log.read_text()[-3000:]}")
        metrics = json.loads(Path(f"{tmp}/model/metrics.json").read_text())
    return {"max_rss_mb": peak, "transitions_per_second": metrics["transitions_per_second"],
            "train_seconds": metrics["train_seconds"],
            "dataset_transitions": len(open_image_rollouts(rollouts))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=Path, required=True, help="a CoinRun rollout directory (the 1x dataset)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--memory-only", action="store_true", help="only reward-net training speed and memory")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/coinrun_throughput.json")
    args = parser.parse_args()

    th.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if th.cuda.is_available() else [])
    seconds, repeats, rollouts_n = (1.0, 2, 1) if args.quick else (4.0, 4, 3)
    rows: list[tuple[str, str, float, str]] = []
    if not args.memory_only:
        rows.append(("env steps/s, random actions, 64 envs, inline", "cpu", env_steps_per_second(64, 0, seconds),
                     "steps/s"))
        rows.append(("env steps/s, random actions, 64 envs, 2 procgen threads", "cpu",
                     env_steps_per_second(64, 2, seconds), "steps/s"))
    for device in devices if not args.memory_only else []:
        rows.append(("PPO training (32 envs x 128 steps, minibatch 1024, 3 epochs)", device,
                     ppo_steps_per_second(device, args.threads, rollouts_n), "env steps/s"))
        batch = 2048
        for label, cl, bf16 in [("NCHW fp32", False, False), ("channels-last fp32", True, False),
                                ("channels-last bf16 convs", True, True)]:
            rows.append((f"IMPALA fwd+bwd, batch {batch}, {label}", device,
                         impala_samples_per_second(device, batch, cl, bf16, repeats), "samples/s"))
    # reward-net training: the same number of batches at 1x and 10x (the zero-reward fraction scales down)
    # the configured reward model (config/config.yaml, envs.coinrun.reward_model), one epoch
    configured = yaml.safe_load((ROOT / "config/config.yaml").read_text())["envs"]["coinrun"]["reward_model"]
    base = {**configured, "epochs": 1, "balanced_epochs": 0, "test_fraction": 0.02, "train_metrics_max": 2000,
            "device": "cpu"}
    frac = configured.get("frac_zero_reward_retained", 1.0)
    one = reward_training(args.rollouts, {**base, "frac_zero_reward_retained": frac}, args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tiled = tile_rollouts(args.rollouts, Path(tmp) / "tiled", 10)
        ten = reward_training(tiled, {**base, "frac_zero_reward_retained": frac / 10}, args.threads)
    rows.append(("CNN reward-net training", "cpu", one["transitions_per_second"], "transitions/s"))
    rows.append((f"peak RSS, reward-net training, 1x ({one['dataset_transitions']} transitions)", "cpu",
                 one["max_rss_mb"], "MB"))
    rows.append((f"peak RSS, reward-net training, 10x ({ten['dataset_transitions']} transitions)", "cpu",
                 ten["max_rss_mb"], "MB"))

    width = max(len(r[0]) for r in rows)
    print(f"{'measure':<{width}}  device  {'value':>10}  unit")
    for name, device, value, unit in rows:
        print(f"{name:<{width}}  {device:<6}  {value:>10.1f}  {unit}")
    out = args.out.with_name(args.out.stem + "_memory.json") if args.memory_only else args.out
    write_json(out, {
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "threads": args.threads,
                    "torch": th.__version__, "cuda": th.cuda.get_device_name(0) if th.cuda.is_available() else None},
        "rows": [{"measure": n, "device": d, "value": v, "unit": u} for n, d, v, u in rows],
        "reward_training": {"1x": one, "10x": ten},
    })


if __name__ == "__main__":
    main()
