"""Benchmark interpretation of a CoinRun-sized CNN reward model (issue 10, item 8).

Feature visualization of 15 features (the output heads of a 15-action ImageRewardNet, 64×64×3 frames) for 512
steps with the default transforms, timed on the device, for two architectures: the reference's (two 3×3 convs
of 32 and 64 channels at full resolution) and the one config/config.yaml trains for CoinRun; with ``--full``
also one whole run (of the configured one) with the default settings (2048 transitions, NMF off,
visualization, attribution, figures, report) on synthetic rollouts. Weights and frames are random: the
cost does not depend on them.

    .venv/bin/python benchmarks/interpret_speed.py [--steps 512] [--device cpu|cuda] [--threads 2] [--full]
prints a table and writes benchmarks/results/interpret_speed_{device}.json.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch as th
from gymnasium import spaces

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reward_preprocessing.artifacts import write_json
from reward_preprocessing.devices import resolve_device, set_threads
from reward_preprocessing.interpret.features import unit_features
from reward_preprocessing.interpret.layers import resolve_layer
from reward_preprocessing.interpret.run import InterpretSettings, interpret_model
from reward_preprocessing.interpret.transitions import TransitionModel, image_layout
from reward_preprocessing.interpret.visualize import Transforms, visualize
from reward_preprocessing.rewards.cnn import ImageRewardNet
from reward_preprocessing.rewards.io import save_reward_net

N_ACTIONS, SIZE = 15, 64


REFERENCE = {"hid_channels": [32, 64], "kernel_size": 3, "stride": 1}


def configured_architecture() -> dict:
    """The CoinRun reward net's architecture in config/config.yaml."""
    import yaml

    config = yaml.safe_load((Path(__file__).resolve().parents[1] / "config/config.yaml").read_text())
    model = config["envs"]["coinrun"]["reward_model"]
    return {k: model[k] for k in ("hid_channels", "kernel_size", "stride") if k in model}


def coinrun_sized_net(architecture: dict, seed: int = 0) -> ImageRewardNet:
    th.manual_seed(seed)
    return ImageRewardNet(spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8), spaces.Discrete(N_ACTIONS),
                          **architecture)


def synthetic_npz(path: Path, n: int, seed: int = 0) -> None:
    """n transitions in the train-procgen layout: trajectories of 64 steps, random frames and actions."""
    rng = np.random.default_rng(seed)
    lengths = [64] * (n // 64) + ([n % 64] if n % 64 else [])
    obs = rng.integers(0, 256, (n + len(lengths), SIZE, SIZE, 3), dtype=np.uint8)
    np.savez(path, obs=obs, acts=rng.integers(0, N_ACTIONS, n).astype(np.int8), rews=np.zeros(n, np.float32),
             terminal=np.ones(len(lengths), bool), indices=np.cumsum(lengths)[:-1])


def time_visualization(device: str, steps: int, architecture: dict) -> dict[str, float]:
    net = coinrun_sized_net(architecture)
    model = TransitionModel(net, image_layout(net)).to(device).eval()
    name, layer, info = resolve_layer(model, "")
    features = unit_features(name, info.shape[0], [str(i) for i in range(N_ACTIONS)])
    defaults = InterpretSettings()
    start = time.perf_counter()
    visualize(model, layer, features, range(N_ACTIONS), steps=steps, lr=defaults.lr,
              transforms=Transforms(jitter=defaults.jitter), seed=0)
    if device.startswith("cuda"):
        th.cuda.synchronize()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "steps_per_second": steps / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=InterpretSettings().steps)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--full", action="store_true", help="also time one whole run with the default settings")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    device = resolve_device(args.device)
    set_threads(args.threads)
    results: dict = {
        "device": device, "threads": args.threads, "torch": th.__version__, "machine": platform.machine(),
        "gpu": th.cuda.get_device_name(0) if device.startswith("cuda") else None,
        "cpu_count": os.cpu_count(), "load_average_before": os.getloadavg()[0],
        "features": N_ACTIONS, "steps": args.steps,
    }
    configured = configured_architecture()
    results["architectures"] = {"reference": REFERENCE, "configured": configured}
    results["visualization"] = {name: time_visualization(device, args.steps, arch)
                                for name, arch in (("reference", REFERENCE), ("configured", configured))}
    if args.full:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            save_reward_net(coinrun_sized_net(configured), root / "model", env_id="procgen:coinrun")
            synthetic_npz(root / "rollouts.npz", InterpretSettings().n_observations)
            timings: dict[str, float] = {}
            interpret_model(root / "model", root / "rollouts.npz", root / "out", InterpretSettings(device=device),
                            timings=timings)
        results["full_default_run"] = timings
    # Other processes share the CPU: the 1-minute load average says how much (compare with cpu_count).
    results["load_average_after"] = os.getloadavg()[0]
    rows = [(f"feature visualization, 15 features x {args.steps} steps, {name} net", timing["seconds"])
            for name, timing in results["visualization"].items()]
    rows += [(f"default run (configured net): {k}", v) for k, v in results.get("full_default_run", {}).items()]
    print(f"{'phase':<60} {'seconds':>9}   ({device}, {args.threads} threads)")
    for label, seconds in rows:
        print(f"{label:<60} {seconds:>9.1f}")
    for name, timing in results["visualization"].items():
        print(f"visualization, {name} net: {timing['steps_per_second']:.2f} steps/s (batch of 15)")
    print(f"load average {results['load_average_before']:.1f} before, {results['load_average_after']:.1f} after, "
          f"{results['cpu_count']} CPUs")
    out = Path(args.out or Path(__file__).parent / "results" / f"interpret_speed_{device.split(':')[0]}.json")
    write_json(out, results)


if __name__ == "__main__":
    main()
