"""Exact feature-potential preprocessing: seconds and peak memory against transitions and features.

MountainCar transitions from a uniformly random policy (the env's physics, vectorized here so that 1e5
transitions take no time to make), the randomly shaped reward, Chebyshev features of total degree d
(K = (d + 1)(d + 2) / 2 - 1), or with ``--maps`` any feature map of the config (``rbf:16`` = 16 x 16 Gaussians,
``fourier:16`` = 17^2 - 1 cosines, ``polynomial:23``), to see whether a result belongs to the map or to the problem.
Each case runs in a fresh process, so its peak resident memory (VmHWM) is its own. ``--threads``: the interior
point's row passes on that many threads (the answer is the same).
``--mm``: log objectives with every MM step solved exactly, and/or with inexact intermediate steps.
``--baseline DIR``: each case also runs with the library of another checkout (for example a ``git worktree`` of
an earlier commit), right after this one's, so that both are timed in one run on the same machine.

    python benchmarks/feature_lp_scaling.py [--transitions 1000 10000 100000] [--degrees 6 16 23]
        [--maps rbf:16 fourier:16] [--objectives sparse_l1 sparse_log] [--threads 1 2] [--mm exact inexact]
        [--timeout 600] [--baseline ../main-before]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
LOW, HIGH = [-1.2, -0.07], [0.6, 0.07]


def mountain_car_walks(transitions: int, seed: int = 0, horizon: int = 200) -> tuple[np.ndarray, ...]:
    """(obs, next_obs, episode_ids) of random-policy MountainCar episodes (gymnasium's dynamics, float32 states)."""
    episodes = -(-transitions // horizon)
    rng = np.random.default_rng(seed)
    pos = rng.uniform(-0.6, -0.4, episodes).astype(np.float32).astype(np.float64)
    vel = np.zeros(episodes)
    states = np.empty((horizon + 1, episodes, 2))
    states[0] = np.stack([pos, vel], 1)
    for t in range(horizon):
        action = rng.integers(0, 3, episodes)
        vel = np.clip(vel + (action - 1) * 0.001 - np.cos(3 * pos) * 0.0025, -0.07, 0.07)
        pos = np.clip(pos + vel, -1.2, 0.6)
        vel = np.where((pos == -1.2) & (vel < 0), 0.0, vel)
        pos, vel = pos.astype(np.float32).astype(np.float64), vel.astype(np.float32).astype(np.float64)
        states[t + 1] = np.stack([pos, vel], 1)
    obs = states[:-1].transpose(1, 0, 2).reshape(-1, 2)[:transitions]
    next_obs = states[1:].transpose(1, 0, 2).reshape(-1, 2)[:transitions]
    ids = np.repeat(np.arange(episodes), horizon)[:transitions]
    return obs, next_obs, ids


# A map spec's number, per kind: ``kind:number`` (a bare number is a polynomial degree).
_MAP_PARAMETER = {"polynomial": "degree", "fourier": "order", "rbf": "per_dim"}


def map_components(spec: str) -> list[dict]:
    """The feature components of a map spec such as ``rbf:16`` (``23`` means ``polynomial:23``)."""
    kind, _, number = spec.rpartition(":")
    kind = kind or "polynomial"
    if kind not in _MAP_PARAMETER or not number.isdigit():
        raise ValueError(f"map {spec!r}: use KIND:NUMBER with KIND in {', '.join(_MAP_PARAMETER)}")
    return [{"kind": kind, _MAP_PARAMETER[kind]: int(number)}]


def _mm_label(objective: str, mm: str) -> str:
    """MM steps only exist for the log objectives."""
    return mm if "log" in objective else ""


def benchmark_problem(transitions: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(obs, next_obs, reward, episode_ids): the randomly shaped MountainCar reward plus a term that is no
    shaping (a bonus for speed), so that the optimum is not trivially zero."""
    from reward_preprocessing.envs.mountain_car import RandomPotentialParams, shaped_reward

    obs, next_obs, ids = mountain_car_walks(transitions)
    reward = shaped_reward(obs, next_obs, "random", 0.99, RandomPotentialParams.from_seed(0))
    return obs, next_obs, reward + (np.abs(next_obs[:, 1]) > 0.02), ids


def run_case(transitions: int, spec: str, objective: str, threads: int, mm: str) -> dict:
    import reward_preprocessing
    from reward_preprocessing.preprocessing.feature_lp import FeatureSettings, solve_features
    from reward_preprocessing.rewards.feature_potential import FeatureMap

    obs, next_obs, reward, ids = benchmark_problem(transitions)
    components = map_components(spec)
    start, cpu_start = time.perf_counter(), time.process_time()
    fmap = FeatureMap(LOW, HIGH, components)
    features, next_features = fmap.numpy(obs), fmap.numpy(next_obs)
    solution = solve_features(features, next_features, reward, ids, objective, 0.99,
                              settings=FeatureSettings(components=components, mm_tol=1e-4, mm_inexact=mm == "inexact"),
                              threads=threads)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                   if line.startswith("VmHWM"))
    return {
        "package": str(Path(reward_preprocessing.__file__).parent),
        "transitions": transitions, "map": spec, "features": fmap.num_features, "objective": objective,
        "threads": threads,
        "mm": _mm_label(objective, mm),
        "seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3), "peak_rss_mb": round(peak_kb / 1024, 1),
        "value": solution.value_after,
        "duality_gap": solution.info["duality_gap"], "lp_solves": solution.info["lp_solves"],
        "lp_method": solution.info["lp_method"], "lp_iterations": solution.info["lp_iterations"],
        "mm_steps": solution.info.get("mm_steps", 0), "lp_iterations_total": solution.info["lp_iterations_total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transitions", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--degrees", type=int, nargs="+", default=[6, 16, 23])
    parser.add_argument("--maps", nargs="+", help="feature maps instead of --degrees, e.g. rbf:16 fourier:16")
    parser.add_argument("--objectives", nargs="+", default=["sparse_l1", "smooth_l1", "sparse_log"])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--mm", nargs="+", choices=["exact", "inexact"], default=["exact", "inexact"])
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--case", nargs=5, metavar=("N", "MAP", "OBJECTIVE", "THREADS", "MM"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(RESULTS / "feature_lp_scaling"))
    parser.add_argument("--baseline", help="a checkout whose reward_preprocessing is timed beside this one")
    args = parser.parse_args()
    if args.baseline and not (Path(args.baseline) / "reward_preprocessing" / "__init__.py").is_file():
        parser.error(f"--baseline {args.baseline}: no reward_preprocessing package there")
    if args.case:
        print(json.dumps(run_case(int(args.case[0]), args.case[1], args.case[2], int(args.case[3]), args.case[4])))
        return
    maps = args.maps or [f"polynomial:{degree}" for degree in args.degrees]
    for spec in maps:
        try:
            map_components(spec)
        except ValueError as error:
            parser.error(str(error))
    rows = []
    header = (f"{'library':<8} {'objective':<11} {'mm':<7} {'transitions':>11} {'map':<13} {'features':>8} "
              f"{'threads':>7} {'seconds':>9} {'cpu s':>8} {'peak MB':>8} {'LPs':>4} {'IPM its':>7} {'gap':>9} method")
    print(header, flush=True)
    libraries = [None, str(Path(args.baseline).resolve())] if args.baseline else [None]
    for objective in args.objectives:
        for n in args.transitions:
            for spec in maps:
                modes = args.mm if "log" in objective else ["exact"]
                for threads, mm, library in itertools.product(args.threads, modes, libraries):
                    row = _run_in_fresh_process(n, spec, objective, threads, mm, args.timeout, library)
                    rows.append(row := {"library": library or "this", **row})
                    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                    Path(args.out + ".json").write_text(json.dumps(rows, indent=2, sort_keys=True) + "\n")
                    lead = (f"{'baseline' if library else 'this':<8} {objective:<11} {row['mm']:<7} {n:>11} "
                            f"{spec:<13} {row['features']:>8} {threads:>7}")
                    if row["seconds"] is None:
                        print(f"{lead} {'>' + str(int(args.timeout)):>9}", flush=True)
                    else:
                        print(f"{lead} {row['seconds']:>9.2f} {row['cpu_seconds']:>8.2f} {row['peak_rss_mb']:>8.0f} "
                              f"{row['lp_solves']:>4} {row['lp_iterations_total']:>7} {row['duality_gap']:>9.1e} "
                              f"{row['lp_method']}", flush=True)


def _run_in_fresh_process(
    n: int, spec: str, objective: str, threads: int, mm: str, timeout: float, library: str | None = None
) -> dict:
    """One case in its own interpreter (its own peak memory); a case over `timeout` seconds is recorded as such.
    `library`: a checkout whose package is imported instead of this one's (it comes first on PYTHONPATH)."""
    cmd = [sys.executable, __file__, "--case", str(n), spec, objective, str(threads), mm]
    env = dict(os.environ)
    if library:
        env["PYTHONPATH"] = os.pathsep.join([library, *filter(None, [env.get("PYTHONPATH")])])
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=True, env=env)
    except subprocess.TimeoutExpired:
        from reward_preprocessing.rewards.feature_potential import component_size

        k = sum(component_size(c, len(LOW)) for c in map_components(spec))
        return {"transitions": n, "map": spec, "features": k, "objective": objective, "threads": threads,
                "mm": _mm_label(objective, mm), "seconds": None, "timeout": timeout}
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
