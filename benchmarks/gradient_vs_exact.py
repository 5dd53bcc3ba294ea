"""Gradient-fitted potentials against the exact feature solution on MountainCar: objective reached and wall time.

On the same rollout transitions and reward, for each shaping and objective: the exact feature potential
(`feature_lp`, the config's default map) and the MLP over box-scaled observations fitted by minibatch Adam
(`neural.fit_potential` with the config's fit settings; the potential the workflow used before). Lower is
better; the exact solution is the optimum over its feature span, the MLP's span is larger but its fit is
local and depends on the shaping it starts from.

Both run on `--threads` CPU threads (torch's for the fit, the interior point's row passes for the exact solve).

    python benchmarks/gradient_vs_exact.py [--rollouts results/rollouts/mountain_car] [--shapings unshaped random]
        [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch as th
import yaml

from reward_preprocessing.data.rollouts import load_rollouts
from reward_preprocessing.data.transitions import TransitionBatch
from reward_preprocessing.preprocessing.feature_lp import FeatureSettings, solve_features
from reward_preprocessing.preprocessing.neural import fit_potential
from reward_preprocessing.preprocessing.objectives import OBJECTIVES
from reward_preprocessing.rewards.feature_potential import FeatureMap
from reward_preprocessing.rewards.mountain_car import mountain_car_reward_net
from reward_preprocessing.rewards.potentials import BoxMLPPotential, build_potential
from reward_preprocessing.settings import from_mapping

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", default=str(ROOT / "results" / "rollouts" / "mountain_car"))
    parser.add_argument("--config", default=str(ROOT / "config" / "config.yaml"))
    parser.add_argument("--shapings", nargs="+", default=["unshaped", "dense", "antidense", "random"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--objectives", nargs="+", default=list(OBJECTIVES))
    parser.add_argument("--out", default=str(RESULTS / "gradient_vs_exact"))
    args = parser.parse_args()
    th.set_num_threads(args.threads)
    config = yaml.safe_load(Path(args.config).read_text())
    mc, gamma = config["envs"]["mountain_car"]["preprocess"], float(config["gamma"])
    settings = from_mapping(FeatureSettings, mc["features"], "envs.mountain_car.preprocess.features")
    # The gradient fit: the MLP potential that was the default before the exact features.
    mc.setdefault("hidden_sizes", [128, 128])
    fit = {"batch_size": 200, "lr": 0.01, "max_epochs": 20, "tol": 0.001, "patience": 3, "seed": 0, **mc.get("fit", {})}
    data = TransitionBatch.from_trajectories(load_rollouts(args.rollouts))
    obs, next_obs = data.obs.astype(np.float64), data.next_obs.astype(np.float64)
    low, high = [-1.2, -0.07], [0.6, 0.07]
    fmap = FeatureMap(low, high, settings.components)
    features, next_features = fmap.numpy(obs), fmap.numpy(next_obs)
    rows = []
    print(f"{len(data)} transitions, {fmap.num_features} features, MLP {mc['hidden_sizes']} with {fit}, "
          f"{args.threads} thread(s)")
    print(f"{'shaping':<10} {'objective':<11} {'before':>9} {'exact':>10} {'exact s':>8} {'mlp':>10} {'mlp s':>8} "
          f"{'epochs':>6}")
    for shaping in args.shapings:
        net, _ = mountain_car_reward_net(shaping, gamma)
        reward = data.rewards(net)
        for objective in args.objectives:
            exact = solve_features(features, next_features, reward, data.episode_ids, objective, gamma, data.dones,
                                   settings, threads=args.threads)
            spec = BoxMLPPotential(low, high, mc["hidden_sizes"]).spec()
            start = time.perf_counter()
            with th.random.fork_rng(devices=[]):
                th.manual_seed(fit["seed"])
                mlp = fit_potential(obs.astype(np.float32), next_obs.astype(np.float32), reward, data.episode_ids,
                                    objective, build_potential(spec, fit["seed"]), gamma, dones=data.dones,
                                    batch_size=fit["batch_size"], lr=fit["lr"], max_epochs=fit["max_epochs"],
                                    tol=fit["tol"], patience=fit["patience"], seed=fit["seed"], progress=False)
            mlp_seconds = time.perf_counter() - start
            row = {
                "shaping": shaping, "objective": objective, "value_before": exact.value_before,
                "exact_value": exact.value_after, "exact_seconds": round(exact.seconds, 2),
                "exact_duality_gap": exact.info["duality_gap"], "mlp_value": mlp.value_after,
                "mlp_seconds": round(mlp_seconds, 2), "mlp_epochs": mlp.epochs, "threads": args.threads,
            }
            rows.append(row)
            print(f"{shaping:<10} {objective:<11} {exact.value_before:>9.4f} {exact.value_after:>10.6f} "
                  f"{exact.seconds:>8.1f} {mlp.value_after:>10.6f} {mlp_seconds:>8.1f} {mlp.epochs:>6}", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out + ".json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
