# Functions of workflow/rules/models.smk (your own reward models, config `models:`).

import shlex

from reward_preprocessing.envs.maze import env_id as _maze_env_id
from reward_preprocessing.envs.maze import layout_from_name as _maze_layout

MODELS = config.get("models", {})


def _check_models():
    """Each model names a maze or an `envs:` entry and files that exist; a pickle (.pt, .pkl, a policy zip) needs
    trust_pickle (checked again by the scripts, which also check what the files hold)."""
    for name, entry in MODELS.items():
        where = f"invalid config at models.{name}"
        if entry["env"] not in MAZES and entry["env"] not in ENVS:
            raise WorkflowError(
                f"{where}.env: {entry['env']!r} is neither a maze ({', '.join(MAZES)}) "
                f"nor an entry of envs ({', '.join(ENVS) or 'none'})"
            )
        rollouts = entry.get("rollouts", {})
        if rollouts and entry["env"] in MAZES:
            raise WorkflowError(f"{where}.rollouts: a maze model is preprocessed exactly, "
                                "over all transitions; rollouts are for envs: entries")
        if "dataset" in rollouts and "policy" in rollouts:
            raise WorkflowError(f"{where}.rollouts: give a dataset or a policy, not both")
        if "policy" in rollouts and model_is_image(name):
            raise WorkflowError(f"{where}.rollouts.policy: an image env's rollouts come from its expert or a "
                                "dataset; a stable-baselines3 policy zip is for vector envs")
        for key, path in (("path", entry["path"]), *((f"rollouts.{k}", rollouts[k]) for k in ("dataset", "policy")
                                                     if k in rollouts)):
            if not os.path.exists(path):
                raise WorkflowError(f"{where}.{key}: no such file or directory {path!r}")
        if "policy" in rollouts and not rollouts.get("trust_pickle", False):
            raise WorkflowError(f"{where}.rollouts: a stable-baselines3 zip holds pickles; set "
                                "rollouts.trust_pickle: true to read it through the allow-list unpickler")




def model_is_tabular(name):
    return MODELS[name]["env"] in MAZES


def model_is_image(name):
    """An image env's model (an `envs:` entry of kind image) gets the interpretability outputs, not curves."""
    return is_image_env(MODELS[name]["env"])


def model_policy(name):
    """The user's SB3 policy zip the model's rollouts are collected with, or None."""
    return MODELS[name].get("rollouts", {}).get("policy")


def model_env_id(name):
    """The gymnasium id (and kwargs, as JSON) of a model's env."""
    env = MODELS[name]["env"]
    if env in MAZES:
        return _maze_env_id(_maze_layout(env)[0])
    return ENVS[env]["id"]


def model_env_kwargs(name):
    env = MODELS[name]["env"]
    return settings({} if env in MAZES else ENVS[env].get("kwargs", {}))


def model_targets():
    """Per model: its preprocessed models (every configured objective) and its figure (a heatmap, or reward
    curves), or for an image model its interpretation instead of the figure."""
    targets = []
    for name in MODELS:
        targets += [f"results/models/{name}/preprocessed/{objective}" for objective in config["objectives"]]
        if model_is_image(name):
            targets += [f"results/models/{name}/interpret/{f}" for f in ("overview.png", "report.html", "features.json")]
        else:
            targets += [f"results/models/{name}/figure.{ext}" for ext in ("png", "pdf", "html")]
    return targets


def model_rollouts(name):
    """The rollouts a non-tabular model is preprocessed over: its own dataset or policy's, or its env's expert's.

    An image model reads its dataset as it is (a train-procgen .npz or a rollout directory, like an env's
    `dataset`); a vector model's is converted to a rollout directory first."""
    rollouts = MODELS[name].get("rollouts", {})
    if model_is_image(name):
        return rollouts.get("dataset") or env_rollouts(MODELS[name]["env"])
    if rollouts:
        return f"results/models/{name}/rollouts"
    return f"results/rollouts/{MODELS[name]['env']}"


def model_curve_rollouts(name):
    """The rollout a curve figure is drawn along: the model's own policy's, else the env's expert's."""
    if model_policy(name):
        return f"results/models/{name}/rollouts_curve"
    return f"results/rollouts/{MODELS[name]['env']}_curve"


def model_rollouts_input(wildcards):
    rollouts = MODELS[wildcards.model]["rollouts"]
    return rollouts["policy"] if "policy" in rollouts else rollouts["dataset"]


def model_rollouts_command(wildcards, input, output):
    """Convert the model's trajectory file, or collect rollouts with its policy (the env's rollouts settings)."""
    name = wildcards.model
    env, trust = MODELS[name]["env"], MODELS[name]["rollouts"].get("trust_pickle", False)
    flags = f"--env {shlex.quote(model_env_id(name))} --env-kwargs {shlex.quote(model_env_kwargs(name))}"
    flags += " --trust-pickle" if trust else ""
    if model_policy(name) is None:
        return f"python scripts/convert_trajectories.py {shlex.quote(str(input))} {flags} --out {output.rollouts}"
    document = settings(ENVS[env].get("rollouts", {}))
    curve = " --curve" if output.rollouts.endswith("_curve") else ""
    return (f"python scripts/collect_rollouts.py --policy {shlex.quote(str(input))} {flags}"
            f" --settings {shlex.quote(document)}{curve} --out {output.rollouts}")


def model_preprocess_inputs(wildcards):
    name = wildcards.model
    inputs = {"model": f"results/models/{name}/model"}
    if not model_is_tabular(name):
        env = MODELS[name]["env"]
        inputs["rollouts"] = model_rollouts(name)
        if ENVS[env].get("preprocess", {}).get("potential", "").startswith("critic"):
            inputs["expert"] = f"results/experts/{env}"
    return inputs


def model_preprocess_resource(name, key, default):
    """mem_mb, runtime (the env entry's `resources.preprocess`) or gpu (its `gpu`) of a model's preprocess job;
    threads stay 1 (a seeded fit on one thread is byte-deterministic)."""
    if model_is_tabular(name):
        return default
    env = MODELS[name]["env"]
    return env_gpus(env, "preprocess") if key == "gpu" else stage_resource(env, "preprocess", key, default)


def model_preprocess_command(wildcards, input):
    """preprocess_tabular.py for a maze model, else the env kind's preprocess script (preprocess_neural.py, or
    preprocess_image_reward.py for any image reward model, an imported imitation CnnRewardNet too) with the env's
    `preprocess` settings."""
    name, out = wildcards.model, f"results/models/{wildcards.model}/preprocessed"
    if model_is_tabular(name):
        document = {**tabular_settings(), "objectives": config["objectives"]}
        return (f"python scripts/preprocess_tabular.py --model {input.model} --settings {shlex.quote(settings(document))}"
                f" --out {out}")
    env = MODELS[name]["env"]
    document = {**ENVS[env].get("preprocess", {}), "gamma": config["gamma"], "objectives": config["objectives"]}
    expert = f" --expert {input.expert}" if "expert" in input.keys() else ""
    return (f"python {stage_script(env, 'preprocess')} --model {input.model} --rollouts {input.rollouts}{expert}"
            f" --settings {shlex.quote(settings(document))} --threads 1 --out {out}")


def model_interpret_inputs(wildcards):
    """An image model and the rollouts its dataset examples come from (those it is preprocessed over)."""
    return {"model": f"results/models/{wildcards.model}/model", "rollouts": model_rollouts(wildcards.model)}


def model_interpret_settings(wildcards):
    return settings(ENVS[MODELS[wildcards.model]["env"]].get("interpret", {}))


def model_plot_inputs(wildcards):
    name = wildcards.model
    inputs = {"runs": [f"results/models/{name}/preprocessed/{o}" for o in config["objectives"]],
              "plotlyjs": "results/plotly.min.js"}
    if not model_is_tabular(name):
        inputs["rollouts"] = model_curve_rollouts(name)
    return inputs


def model_plot_command(wildcards, input):
    """A heatmap for a maze model; reward curves along the env's curve rollout otherwise."""
    name, out = wildcards.model, f"results/models/{wildcards.model}/figure"
    runs = " ".join(input.runs)
    if model_is_tabular(name):
        document = {"maze": MODELS[name]["env"], "name": name, "columns": config["objectives"]}
        return f"python scripts/plot_model_heatmap.py --settings {shlex.quote(settings(document))} --runs {runs} --out {out}"
    entry = ENVS[MODELS[name]["env"]]
    document = {"rows": [name], "columns": config["objectives"], "title": name}
    steps = entry.get("rollouts", {}).get("curve_timesteps")
    if steps is not None:
        document["steps"] = steps
    return (f"python scripts/plot_curves.py --rollouts {input.rollouts} --runs {runs}"
            f" --settings {shlex.quote(settings(document))} --out {out}")


_check_models()
