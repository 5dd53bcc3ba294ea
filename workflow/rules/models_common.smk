# Functions of workflow/rules/models.smk (your own reward models, config `models:`).

import shlex

from reward_preprocessing.envs.maze import env_id as _maze_env_id
from reward_preprocessing.envs.maze import layout_from_name as _maze_layout

MODELS = config.get("models", {})


def _check_models():
    """Each model names a maze or an `envs:` entry; a .pt needs trust_pickle (checked again by the script)."""
    for name, entry in MODELS.items():
        if entry["env"] not in MAZES and entry["env"] not in ENVS:
            raise WorkflowError(
                f"invalid config at models.{name}.env: {entry['env']!r} is neither a maze ({', '.join(MAZES)}) "
                f"nor an entry of envs ({', '.join(ENVS) or 'none'})"
            )
        if "rollouts" in entry and entry["env"] in MAZES:
            raise WorkflowError(f"invalid config at models.{name}.rollouts: a maze model is preprocessed exactly, "
                                "over all transitions; rollouts are for envs: entries")


_check_models()


def model_is_tabular(name):
    return MODELS[name]["env"] in MAZES


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
    return [f"results/models/{name}/figure.{ext}" for name in MODELS for ext in ("png", "pdf", "html")]


def model_rollouts(name):
    """The rollouts a non-tabular model is preprocessed over: its own dataset, or its env's expert's."""
    if "dataset" in MODELS[name].get("rollouts", {}):
        return f"results/models/{name}/rollouts"
    return f"results/rollouts/{MODELS[name]['env']}"


def model_preprocess_inputs(wildcards):
    name = wildcards.model
    inputs = {"model": f"results/models/{name}/model"}
    if not model_is_tabular(name):
        env = MODELS[name]["env"]
        inputs["rollouts"] = model_rollouts(name)
        if ENVS[env].get("preprocess", {}).get("potential", "").startswith("critic"):
            inputs["expert"] = f"results/experts/{env}"
    return inputs


def model_preprocess_command(wildcards, input):
    """preprocess_tabular.py for a maze model, preprocess_neural.py with the env's `preprocess` settings otherwise."""
    name, out = wildcards.model, f"results/models/{wildcards.model}/preprocessed"
    if model_is_tabular(name):
        document = {**tabular_settings(), "objectives": config["objectives"]}
        return (f"python scripts/preprocess_tabular.py --model {input.model} --settings {shlex.quote(settings(document))}"
                f" --out {out}")
    env = MODELS[name]["env"]
    document = {**ENVS[env].get("preprocess", {}), "gamma": config["gamma"], "objectives": config["objectives"]}
    expert = f" --expert {input.expert}" if "expert" in input.keys() else ""
    return (f"python scripts/preprocess_neural.py --model {input.model} --rollouts {input.rollouts}{expert}"
            f" --settings {shlex.quote(settings(document))} --threads 1 --out {out}")


def model_plot_inputs(wildcards):
    name = wildcards.model
    inputs = {"runs": [f"results/models/{name}/preprocessed/{o}" for o in config["objectives"]],
              "plotlyjs": "results/plotly.min.js"}
    if not model_is_tabular(name):
        inputs["rollouts"] = f"results/rollouts/{MODELS[name]['env']}_curve"
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
