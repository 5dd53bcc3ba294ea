# Shared setup: config loading and validation, wildcard constraints, code versions and target lists.

import hashlib
import json
import os
import sys
from pathlib import Path

import jsonschema
import yaml
from snakemake.exceptions import WorkflowError


configfile: "config/config.yaml"

# Front page of `snakemake --report results/report.html`; figures carry their own captions (workflow/report/).
report: "../report/workflow.rst"


def _validate_config(cfg):
    """Check the config against the schema and stop with one line naming the bad key."""
    schema = yaml.safe_load(Path(workflow.basedir, "workflow/schemas/config.schema.yaml").read_text())
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(cfg))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise WorkflowError(f"invalid config at {where}: {error.message}")


_validate_config(config)

# The interpreter running Snakemake also runs the scripts (its directory goes first on PATH, so `python` in a
# shell command is that one: a venv works without activation), and the library is importable from this
# checkout without installing it. Jobs on a cluster parse this file again, so they get the same environment.
PYTHON = "python"
# With --use-conda every job runs in the environment pinned by requirements.lock.
CONDA_ENV = "../../environment.yml"
os.environ.update(
    PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    PYTHONPATH=os.pathsep.join(filter(None, [workflow.basedir, os.environ.get("PYTHONPATH")])),
)

# Between-workflow output cache of the rules marked `cache: True` (turned on by `cache:` in profiles/default):
# inside the project unless SNAKEMAKE_OUTPUT_CACHE names another place, e.g. one shared by several checkouts.
# Set here because a profile cannot set environment variables and Snakemake reads this one only after parsing.
Path(os.environ.setdefault("SNAKEMAKE_OUTPUT_CACHE", str(Path(workflow.basedir, ".cache", "snakemake")))).mkdir(
    parents=True, exist_ok=True
)


# Rerun policy: a job reruns when its params (config values and the `code` hash below), command, set of inputs
# or software environment change, and whenever a job upstream of it reruns. An input newer than the outputs
# reruns it only if its checksum differs from the one recorded when the job ran (files up to
# max-checksum-file-size in the profiles), so touching an unchanged file reruns nothing. Keep inputs made by
# other rules plain (no ancient()): ancient inputs also stop reruns from propagating downstream.


def cache_key(wildcards):
    """The job's wildcard values, a param (`cache_key=cache_key`) of every cached rule.

    Snakemake's cache key hashes a rule's command template, params, source inputs and upstream jobs, but not
    its wildcards: without this, two jobs of a rule without inputs (maze4 and maze10 ground truth) or with the
    same input (two objectives of one model) share one cache entry and the second gets the first's files.
    """
    return dict(wildcards.items())

MAZES = ["maze4", "maze10", "keymaze6", "keymaze10"]
REWARDS = ["goal", "path"]
SHAPINGS = ["unshaped", "dense", "antidense", "random"]
OBJECTIVES = ["sparse_l1", "smooth_l1", "sparse_log", "smooth_log"]
# Columns of each heatmap mode after the unmodified reward (docs/architecture.md, "Figures").
HEATMAP_MODES = {
    "default": ["sparse_l1", "smooth_log"],
    "l1": ["sparse_l1", "smooth_l1"],
    "log": ["sparse_log", "smooth_log"],
}


wildcard_constraints:
    maze="|".join(MAZES),
    reward="|".join(REWARDS),
    shaping="|".join(SHAPINGS),
    objective="|".join(OBJECTIVES),
    mode="|".join(HEATMAP_MODES),
    source="ground_truth|learned",
    # Experts: the SB3 MountainCar agent, or a maze's value-iteration policy ({maze}_{reward}).
    expert="mountain_car|(?:{})_(?:{})".format("|".join(MAZES), "|".join(REWARDS)),
    curve="mountain_car|mountain_car_learned",


def _check_choice(target, kind, value, choices):
    if value not in choices:
        raise WorkflowError(f"target {target}: unknown {kind} {value!r}; choose one of: {', '.join(choices)}")


def _check_maze_run(target, name):
    """Check a `{maze}_{reward}_{shaping}` (or `mountain_car_{shaping}`) path segment."""
    if name.startswith("mountain_car_"):
        _check_choice(target, "shaping", name.removeprefix("mountain_car_"), SHAPINGS)
        return
    parts = name.split("_")
    if len(parts) != 3:
        raise WorkflowError(f"target {target}: expected {{maze}}_{{reward}}_{{shaping}}, got {name!r}")
    for kind, value, choices in zip(("maze", "reward", "shaping"), parts, (MAZES, REWARDS, SHAPINGS)):
        _check_choice(target, kind, value, choices)


def _check_targets(targets):
    """Reject unknown mazes, rewards, shapings, objectives or modes in requested targets with one clear line.

    Without this, Snakemake only says that no rule produces the file.
    """
    for target in targets:
        path = Path(target)
        parts = path.parts
        if len(parts) == 3 and parts[:2] == ("results", "heatmaps") and "." in parts[2]:
            stem = parts[2].split(".")[0]
            maze, *rest = stem.split("_")
            _check_choice(target, "maze", maze, MAZES)
            if rest and rest != ["learned"]:
                if len(rest) != 2:
                    raise WorkflowError(
                        f"target {target}: expected results/heatmaps/{{maze}}[_{{reward}}_{{mode}}].png"
                    )
                _check_choice(target, "reward", rest[0], REWARDS)
                _check_choice(target, "mode", rest[1], list(HEATMAP_MODES))
        elif len(parts) >= 4 and parts[:2] in (("results", "preprocessed"), ("results", "reward_models")):
            _check_maze_run(target, parts[3])
            if parts[1] == "preprocessed" and len(parts) >= 5:
                _check_choice(target, "objective", parts[4], OBJECTIVES)


def code_version(*paths):
    """Hash of the library code a rule runs, passed as a param so that editing it reruns the rule.

    Snakemake's own code trigger only sees the rule's shell string, not the
    script or library behind it; this makes that dependency explicit.
    """
    digest = hashlib.sha256()
    for path in paths:
        root = Path(workflow.basedir, path)
        files = sorted(root.rglob("*.py")) if root.is_dir() else [root]
        for f in files:
            digest.update(str(f.relative_to(workflow.basedir)).encode())
            digest.update(f.read_bytes())
    return digest.hexdigest()[:16]


# Modules every rule touching reward models relies on.
CORE_CODE = [
    "reward_preprocessing/__init__.py",
    "reward_preprocessing/errors.py",
    "reward_preprocessing/artifacts.py",
    "reward_preprocessing/rewards",
    "reward_preprocessing/envs",
]


def heatmap_inputs(source):
    """Input function: the preprocessed directories of every shaping and column of a heatmap."""

    def inputs(wildcards):
        reward = getattr(wildcards, "reward", "goal")
        mode = getattr(wildcards, "mode", "default")
        return [
            f"results/preprocessed/{source}/{wildcards.maze}_{reward}_{shaping}/{objective}"
            for shaping in config["shapings"]
            for objective in heatmap_columns(mode)
        ]

    return inputs


def _explain_bad_target(wildcards):
    """Input function of the catch-all rule: say which part of the target is unknown.

    Snakemake tries every rule whose output pattern matches a file, so this runs for every file of the DAG.
    For a file another rule makes it names an input no rule makes, and the catch-all drops out silently;
    raising there would cost a formatted traceback per file (a third of a no-op run of the default targets).
    """
    target = f"results/{wildcards.path}"
    if any(r.name != "unknown_target" and r.is_producer(target) for r in workflow.rules):
        return f".no_rule_makes/{wildcards.path}"
    _check_targets([target])
    raise WorkflowError(f"no rule produces {target}; see the targets listed in README.md")


def heatmap_columns(mode):
    return HEATMAP_MODES[mode]


def preference_args(cfg):
    """The config's `preferences` section as command-line flags: the preset, the seed, then each override."""
    flags = [f"--preset {cfg['preset']}", f"--seed {cfg['seed']}"]
    flags += [f"--{key.replace('_', '-')} {value}" for key, value in sorted(cfg.get("overrides", {}).items())]
    return " ".join(flags)


# --- Experts, rollouts and MountainCar (used by experts.smk, rollouts.smk and mountain_car.smk) ---------------


def sb3_expert_arg(key):
    """A JSON-valued setting of the MountainCar expert (env_kwargs, hyperparams, ...) for the command line."""
    return json.dumps(config["experts"]["mountain_car"].get(key, {}), sort_keys=True)


def rollout_sources():
    """The configured rollout mixture as --source arguments (policy:weight:random_prob)."""
    return " ".join(
        f"--source {s['policy']}:{s['weight']}:{s.get('random_prob', 0.0)}" for s in config["rollouts"]["sources"]
    )


def neural_preprocess_inputs(wildcards):
    """The MountainCar model and rollouts to preprocess; the expert too when its critic is the potential."""
    inputs = {
        "model": f"results/reward_models/{wildcards.source}/mountain_car_{wildcards.shaping}",
        "rollouts": "results/rollouts/mountain_car",
    }
    if config["mountain_car"]["potential"].startswith("critic"):
        inputs["expert"] = "results/experts/mountain_car"
    return inputs


def curve_inputs(wildcards):
    """Preprocessed MountainCar models of every shaping (rows) and objective (columns), row-major."""
    source = "learned" if wildcards.curve.endswith("_learned") else "ground_truth"
    return [
        f"results/preprocessed/{source}/mountain_car_{shaping}/{objective}"
        for shaping in config["shapings"]
        for objective in config["objectives"]
    ]


def default_targets():
    """Every figure of the configured grid: the main figure per maze and the full heatmap grid."""
    targets = []
    for maze in config["mazes"]:
        if "goal" in config["rewards"]:
            targets += [f"results/heatmaps/{maze}.{ext}" for ext in ("png", "pdf", "html")]
        for reward in config["rewards"]:
            for mode in config["heatmap_modes"]:
                targets += [f"results/heatmaps/{maze}_{reward}_{mode}.{ext}" for ext in ("png", "pdf", "html")]
    # Mazes: a reward model learned from preferences for every maze, reward and shaping, and the heatmaps of
    # the learned goal rewards.
    for maze in config["mazes"]:
        targets += [
            f"results/reward_models/learned/{maze}_{reward}_{shaping}"
            for reward in config["rewards"]
            for shaping in config["shapings"]
        ]
        if "goal" in config["rewards"]:
            targets += [f"results/heatmaps/{maze}_learned.{ext}" for ext in ("png", "pdf", "html")]
    # MountainCar: reward curves of the ground-truth and the supervised models, and videos of the experts.
    for curve in ("mountain_car", "mountain_car_learned"):
        targets += [f"results/curves/{curve}.{ext}" for ext in ("png", "pdf", "html")]
    targets.append("results/videos/mountain_car.mp4")
    if "goal" in config["rewards"]:
        targets += [f"results/videos/{maze}_goal.mp4" for maze in config["mazes"]]
    return targets
