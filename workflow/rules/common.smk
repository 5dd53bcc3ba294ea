# Shared setup: config loading and validation, wildcard constraints, code versions, settings documents and
# target lists. Neither rules nor helpers here name a particular non-tabular env (those are entries of `envs:`).

import json
import os
import re
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
    # Alternatives (anyOf: a vector or an image env's section) fail as a whole; name the deepest cause instead.
    while error is not None and error.context:
        error = max(error.context, key=lambda e: len(e.absolute_path))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        raise WorkflowError(f"invalid config at {where}: {error.message}")


_validate_config(config)

sys.path.insert(0, str(Path(workflow.basedir, "workflow")))
from code_closure import script_code_version  # noqa: E402

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


# Rerun policy: a job reruns when its params (its settings document and the `code` hash below), command, set of inputs
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
ENVS = config["envs"]


def _alternatives(names):
    """A wildcard regex matching exactly `names` (and nothing when there are none)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


def is_image_env(name):
    """Whether `name` is an `envs:` entry of kind image: image scripts, GIF preview, interpretation."""
    return name in ENVS and ENVS[name].get("kind", "vector") == "image"


def _env_shapings():
    return sorted({s for env in ENVS.values() for s in env["shapings"]})


wildcard_constraints:
    maze=_alternatives(MAZES),
    reward=_alternatives(REWARDS),
    shaping=_alternatives(SHAPINGS + _env_shapings()),
    objective=_alternatives(OBJECTIVES),
    mode=_alternatives(HEATMAP_MODES),
    source="ground_truth|learned",
    env=_alternatives(ENVS),
    # Experts: an SB3 agent of an env, or a maze's value-iteration policy ({maze}_{reward}).
    expert="{}|(?:{})_(?:{})".format(_alternatives(ENVS), "|".join(MAZES), "|".join(REWARDS)),
    image_env=_alternatives([name for name in ENVS if is_image_env(name)]),


def code_version(script):
    """Hash of a rule's script and every module of this package it imports, directly or not (a param, so
    that editing any of them reruns the rule; Snakemake's own code trigger sees only the shell string)."""
    return script_code_version(Path(workflow.basedir), script)


# The script of each stage, by the env entry's `kind`: `vector` envs keep rollouts in imitation's format and
# train MLPs; `image` envs (procgen) keep uint8 frames on disk, stream them and train CNNs. Both take the same
# arguments, so the rules do not depend on the kind.
STAGE_SCRIPTS = {
    "vector": {
        "expert": "scripts/train_expert.py",
        "rollouts": "scripts/collect_rollouts.py",
        "reward_model": "scripts/train_reward_model.py",
        "preprocess": "scripts/preprocess_neural.py",
        "curves": "scripts/plot_curves.py",
        "video": "scripts/record_video.py",
    },
    "image": {
        "expert": "scripts/train_image_expert.py",
        "rollouts": "scripts/collect_image_rollouts.py",
        "reward_model": "scripts/train_cnn_reward.py",
        "preprocess": "scripts/preprocess_image_reward.py",
        "curves": "scripts/plot_image_curves.py",
        "video": "scripts/record_image_video.py",
    },
}


def stage_script(env, stage):
    """The script that runs `stage` for env entry `env` (mazes and other names: the vector scripts)."""
    kind = ENVS[env].get("kind", "vector") if env in ENVS else "vector"
    return STAGE_SCRIPTS[kind][stage]


def stage_resource(env, stage, name, default):
    """A job's threads, mem_mb or runtime (minutes) from the env entry's `resources.{stage}`, else `default`."""
    return ENVS[env].get("resources", {}).get(stage, {}).get(name, default)


def env_rollouts(env):
    """The rollouts an env's reward model and preprocessing use: the entry's `dataset` (e.g. a train-procgen
    .npz made elsewhere) if it names one, else the collected results/rollouts/{env}."""
    return ENVS[env].get("dataset") or f"results/rollouts/{env}"


def settings(document):
    """One settings document as JSON (a param, passed as `--settings {params.settings:q}`)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def env_gpus(name, section):
    """GPUs that the job running section `section` of env `name` asks for: the entry's `gpu`, none when the
    section's device is cpu."""
    if ENVS[name].get(section, {}).get("device") == "cpu":
        return 0
    return ENVS[name].get("gpu", 0)


def curve_source(env, learned):
    """Which models a curve figure shows: `{env}_learned` the learned ones, `{env}` the ground truth if any."""
    return "learned" if learned or not ENVS[env]["ground_truth"] else "ground_truth"


def _check_choice(target, kind, value, choices):
    if value not in choices:
        raise WorkflowError(f"target {target}: unknown {kind} {value!r}; choose one of: {', '.join(choices)}")


def _check_run(target, name):
    """Check a `{maze}_{reward}_{shaping}` or `{env}_{shaping}` path segment."""
    for env, entry in ENVS.items():
        if name.startswith(f"{env}_"):
            _check_choice(target, "shaping", name.removeprefix(f"{env}_"), entry["shapings"])
            return
    parts = name.split("_")
    if len(parts) != 3:
        raise WorkflowError(
            f"target {target}: expected {{maze}}_{{reward}}_{{shaping}} or {{env}}_{{shaping}}, got {name!r}"
        )
    for kind, value, choices in zip(("maze", "reward", "shaping"), parts, (MAZES, REWARDS, SHAPINGS)):
        _check_choice(target, kind, value, choices)


def _check_targets(targets):
    """Reject unknown mazes, envs, rewards, shapings, objectives or modes in requested targets with one clear line.

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
        elif len(parts) == 3 and parts[:2] == ("results", "curves") and "." in parts[2]:
            _check_choice(target, "env", parts[2].split(".")[0].removesuffix("_learned"), list(ENVS))
        elif len(parts) >= 4 and parts[:2] in (("results", "preprocessed"), ("results", "reward_models")):
            _check_run(target, parts[3])
            if parts[1] == "preprocessed" and len(parts) >= 5:
                _check_choice(target, "objective", parts[4], OBJECTIVES)


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


def env_targets(env):
    """An env's figures: its reward curves (ground truth and/or learned), the video of its expert and, for an
    image env, the interpretation of its learned reward model."""
    curves = [env, f"{env}_learned"] if ENVS[env]["ground_truth"] else [env]
    videos = [f"results/videos/{env}.mp4"]
    interpretations = []
    if is_image_env(env):
        # an image reward model is also explained: feature visualization, NMF, dataset examples, attribution
        videos.append(f"results/videos/{env}.gif")
        interpretations = [f"results/interpret/{env}/learned_{shaping}/report.html" for shaping in ENVS[env]["shapings"]]
    return [f"results/curves/{curve}.{ext}" for curve in curves for ext in ("png", "pdf", "html")] + videos + (
        interpretations
    )


def default_targets():
    """Every figure of the configured grid, the learned maze models, and per env its curves and expert video."""
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
    # Envs: reward curves of the ground-truth models (where the env has them) and of the learned ones, and a
    # video of the expert.
    for env, entry in ENVS.items():
        if entry.get("in_all", True):
            targets += env_targets(env)
    if "goal" in config["rewards"]:
        targets += [f"results/videos/{maze}_goal.mp4" for maze in config["mazes"]]
    return targets


# --- Helpers of the stage files (mazes.smk, envs.smk, plots.smk) --------------------------------------------

# The objectives each maze model is preprocessed for: the configured ones and every heatmap column.
MAZE_OBJECTIVES = list(dict.fromkeys(
    [*config["objectives"], *(c for mode in config["heatmap_modes"] for c in HEATMAP_MODES[mode]),
     *HEATMAP_MODES["default"]]
))


def maze_runs():
    """(`{reward}_{shaping}`, `{maze}_{reward}_{shaping}`) of every configured reward and shaping; the maze is
    left as a wildcard."""
    return [(f"{r}_{s}", f"{{maze}}_{r}_{s}") for r in config["rewards"] for s in config["shapings"]]


def tabular_settings():
    return {"solver": config["preprocessing"]["solver"], "gamma": config["gamma"], "objectives": MAZE_OBJECTIVES}


ENVS_WITH_GROUND_TRUTH = [name for name, entry in ENVS.items() if entry["ground_truth"]]
# Curve figures: {env} for every env, {env}_learned for those whose {env} shows the ground truth.
CURVES = [*ENVS, *(f"{name}_learned" for name in ENVS_WITH_GROUND_TRUTH)]


def env_kwargs_json(env, **extra):
    return settings({**ENVS[env].get("kwargs", {}), **extra})


def reward_model_inputs(wildcards):
    """The rollouts, and the shaped ground truth that labels them when the env's reward model says so."""
    entry = ENVS[wildcards.env]
    labels = entry.get("reward_model", {}).get("labels", "ground_truth")
    inputs = {"rollouts": env_rollouts(wildcards.env)}
    if labels == "ground_truth":
        if not entry["ground_truth"]:
            raise WorkflowError(f"envs.{wildcards.env}: reward_model.labels is ground_truth, but the env has none")
        inputs["target"] = f"results/reward_models/ground_truth/{wildcards.env}_{wildcards.shaping}"
    elif wildcards.shaping != "unshaped":
        raise WorkflowError(
            f"envs.{wildcards.env}: rollouts carry the unshaped reward; cannot learn {wildcards.shaping} from them"
        )
    return inputs


def neural_preprocess_inputs(wildcards):
    """The model and rollouts to preprocess; the expert too when its critic is the potential."""
    inputs = {
        "model": f"results/reward_models/{wildcards.source}/{wildcards.env}_{wildcards.shaping}",
        "rollouts": env_rollouts(wildcards.env),
    }
    if ENVS[wildcards.env].get("preprocess", {}).get("potential", "").startswith("critic"):
        inputs["expert"] = f"results/experts/{wildcards.env}"
    return inputs


def heatmap_figures():
    """The files of one maze's heatmap job by name: report-flagged PNGs, plain PDFs and HTMLs."""
    files = {}
    for reward in config["rewards"]:
        for mode in config["heatmap_modes"]:
            name = f"results/heatmaps/{{maze}}_{reward}_{mode}"
            files[f"{reward}_{mode}_png"] = report(
                f"{name}.png", caption="../report/heatmap_grid.rst", category="Maze heatmaps",
                subcategory="{maze}", labels={"maze": "{maze}", "reward": reward, "columns": mode},
            )
            files[f"{reward}_{mode}_pdf"], files[f"{reward}_{mode}_html"] = f"{name}.pdf", f"{name}.html"
    if "goal" in config["rewards"]:
        files["main_png"] = report(
            "results/heatmaps/{maze}.png", caption="../report/heatmap_main.rst", category="Main figures",
            labels={"maze": "{maze}"},
        )
        files["main_pdf"], files["main_html"] = "results/heatmaps/{maze}.pdf", "results/heatmaps/{maze}.html"
    return files


def heatmap_inputs(wildcards):
    """Every preprocessed directory a maze's ground-truth figures draw (its main figure included)."""
    modes = [*config["heatmap_modes"], "default"]
    columns = list(dict.fromkeys(c for mode in modes for c in HEATMAP_MODES[mode]))
    return [
        f"results/preprocessed/ground_truth/{wildcards.maze}_{reward}_{shaping}/{column}"
        for reward in config["rewards"]
        for shaping in config["shapings"]
        for column in columns
    ]


def curve_env(wildcards):
    return wildcards.curve.removesuffix("_learned")


def curve_inputs(wildcards):
    """Preprocessed models of every shaping (rows) and objective (columns), row-major."""
    env = curve_env(wildcards)
    source = curve_source(env, wildcards.curve.endswith("_learned"))
    return [
        f"results/preprocessed/{source}/{env}_{shaping}/{objective}"
        for shaping in ENVS[env]["shapings"]
        for objective in config["objectives"]
    ]


def curve_settings(wildcards):
    env = curve_env(wildcards)
    entry = ENVS[env]
    title = entry.get("title", env)
    if wildcards.curve.endswith("_learned") or not entry["ground_truth"]:
        title += ", learned reward"
    document = {"rows": entry["shapings"], "columns": config["objectives"], "title": title}
    steps = entry.get("rollouts", {}).get("curve_timesteps")
    return settings(document if steps is None else {**document, "steps": steps})


# --- Interpretation (interpret.smk, and the image models of models.smk) ---------------------------------------


def interpret_outputs(folder, subcategory, model):
    """The files of one interpretation run in `folder` (a path pattern), with their report entries."""
    return {
        "overview": report(
            f"{folder}/overview.png",
            caption="../report/interpret.rst",
            category="Interpretation",
            subcategory=subcategory,
            labels={"env": subcategory, "model": model, "figure": "overview"},
        ),
        "html": report(
            f"{folder}/report.html",
            caption="../report/interpret_html.rst",
            category="Interpretation",
            subcategory=subcategory,
            labels={"env": subcategory, "model": model, "figure": "interactive report"},
        ),
        "features": f"{folder}/features.json",
        "pngs": directory(f"{folder}/features"),
    }


# The command of every interpretation job: the model and rollouts in `input`, settings in `params`.
INTERPRET_SHELL = (
    "python scripts/interpret.py --model {input.model} --rollouts {input.rollouts} --out {params.out}"
    " --title {params.title:q} --settings {params.settings:q} --threads {threads} 2>&1 | tee {log}"
)
