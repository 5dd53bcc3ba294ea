"""Check that the working tree builds every artifact of the default figures byte for byte like a baseline commit.

    .venv/bin/python benchmarks/identical_artifacts.py [--baseline d9111e2] [--targets maze10 mountain_car]
        [--baseline-results DIR] [--scratch DIR] [--out benchmarks/results/identical_artifacts.json]

Each revision is checked out into a scratch directory and runs its own Snakemake, from an empty results/ and
an empty output cache, on the target sets named by --targets:
  maze10        results/heatmaps/maze10.png (the main figure: models, preprocessed directories, figures)
  mountain_car  results/curves/mountain_car.png and mountain_car_learned.png (expert, rollouts, ground-truth
                and learned reward models, neural preprocessing, curves)
The working tree runs with the MountainCar entry pinned to the baseline's settings (`PINNED_ENVS`), so a later
change of a default does not make the comparison meaningless. --baseline-results reuses the results/ of a
finished baseline run instead of building it again. Every file the baseline made must exist in the working
tree's results with the same bytes, except the values of the wall-clock keys `TIMING_KEYS`
(reward_preprocessing/artifacts.py), which are masked in JSON files and CSV columns and reported ("masked").
Prints a table, writes the JSON to --out, and exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from revisions import REPO_ROOT, WORKTREE, artifact_digests, checkout, resolve, run_snakemake

TARGETS = {
    "maze10": ["results/heatmaps/maze10.png"],
    "mountain_car": ["results/curves/mountain_car.png", "results/curves/mountain_car_learned.png"],
}
# Which baseline files each target set makes (the comparison covers only what was requested).
PREFIXES = {
    "maze10": ("heatmaps/maze10", "reward_models/ground_truth/maze10_goal_", "preprocessed/ground_truth/maze10_goal_",
               "plotly.min.js"),
    "mountain_car": ("curves/mountain_car", "experts/mountain_car/", "rollouts/mountain_car",
                     "reward_models/ground_truth/mountain_car_", "reward_models/learned/mountain_car_",
                     "preprocessed/ground_truth/mountain_car_", "preprocessed/learned/mountain_car_", "plotly.min.js"),
}
# The MountainCar settings of the baseline (config/config.yaml at d9111e2), as an `envs:` entry.
PINNED_ENVS = {
    "mountain_car": {
        "id": "reward_preprocessing/MountainCar-v0",
        "title": "MountainCar",
        "kwargs": {},
        "shapings": ["unshaped", "dense", "antidense", "random"],
        "ground_truth": True,
        "gpu": 0,
        "expert": {
            "algo": "dqn", "total_timesteps": 120000, "seed": 0, "n_envs": 1, "scale_observations": False,
            "select_every": 10000, "select_episodes": 10, "env_kwargs": {"shaping": "unshaped"},
            "hyperparams": {"learning_rate": 0.004, "batch_size": 128, "buffer_size": 10000, "learning_starts": 1000,
                            "gamma": 0.98, "target_update_interval": 600, "train_freq": 16, "gradient_steps": 8,
                            "exploration_fraction": 0.2, "exploration_final_eps": 0.07},
            "policy_kwargs": {"net_arch": [64, 64]}, "device": "cpu",
        },
        "rollouts": {"min_timesteps": 10000, "seed": 0, "curve_timesteps": 1000,
                     "sources": [{"policy": "expert", "weight": 1, "random_prob": 0.1},
                                 {"policy": "random", "weight": 1}]},
        "reward_model": {"kind": "mlp", "labels": "ground_truth", "hidden_sizes": [128, 128], "epochs": 60,
                         "batch_size": 256, "lr": 0.003, "test_fraction": 0.2, "seed": 0, "device": "cpu"},
        "preprocess": {"potential": "mlp_box", "hidden_sizes": [128, 128], "device": "cpu",
                       "fit": {"batch_size": 200, "lr": 0.01, "max_epochs": 20, "tol": 0.001, "patience": 3,
                               "seed": 0}},
    }
}


def compare(baseline: dict[str, str], head: dict[str, str], prefixes: tuple[str, ...]) -> dict[str, list[str]]:
    wanted = sorted(f for f in baseline if f.startswith(prefixes))
    return {
        "identical": [f for f in wanted if head.get(f) == baseline[f]],
        "different": [f for f in wanted if f in head and head[f] != baseline[f]],
        "missing": [f for f in wanted if f not in head],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="d9111e2", help="baseline commit (default: the pre-redesign main)")
    parser.add_argument("--targets", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--baseline-results", type=Path, help="results/ of a finished baseline run to reuse")
    parser.add_argument("--scratch", type=Path, help="where to check out and run (default: a temporary dir)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "identical_artifacts.json")
    args = parser.parse_args()

    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="identical_artifacts_"))
    targets = [t for name in args.targets for t in TARGETS[name]]
    head_dir = checkout(WORKTREE, scratch / "head")
    overlay = head_dir / "pinned.yaml"
    overlay.write_text(yaml.safe_dump({"envs": PINNED_ENVS}))
    head_run = run_snakemake(head_dir, targets, ["--configfile", str(overlay)])
    if args.baseline_results is None:
        base_dir = checkout(resolve(args.baseline), scratch / "baseline")
        base_run = run_snakemake(base_dir, targets)
        base_results, base_seconds = base_dir / "results", base_run.seconds
    else:
        base_results, base_seconds = args.baseline_results, None
    (baseline, _), (head, masked) = artifact_digests(base_results), artifact_digests(head_dir / "results")

    report = {"baseline": resolve(args.baseline), "head": WORKTREE, "platform": platform.platform(), "sets": {}}
    print(f"{'target set':<14}{'identical':>10}{'different':>10}{'missing':>9}")
    failed = False
    for name in args.targets:
        result = compare(baseline, head, PREFIXES[name])
        timed = {f: keys for f, keys in masked.items() if f.startswith(PREFIXES[name])}
        report["sets"][name] = {"targets": TARGETS[name], **result, "masked": timed}
        failed |= bool(result["different"] or result["missing"]) or not result["identical"]
        print(f"{name:<14}{len(result['identical']):>10}{len(result['different']):>10}{len(result['missing']):>9}")
        for f in result["different"] + result["missing"]:
            print(f"  {'differs' if f in result['different'] else 'missing'}: {f}")
        for f, keys in timed.items():
            print(f"  masked {', '.join(keys)}: {f}")
    report["seconds"] = {"baseline": base_seconds, "head": head_run.seconds}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if args.scratch is None:
        shutil.rmtree(scratch, ignore_errors=True)
    print("identical" if not failed else "DIFFERENT", f"(report: {args.out})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
