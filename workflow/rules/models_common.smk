# Functions of workflow/rules/models.smk (your own reward models, config `models:`).

import re

from reward_preprocessing.envs.maze import env_id as _maze_env_id  # noqa: E402
from reward_preprocessing.envs.maze import layout_from_name as _maze_layout  # noqa: E402
from reward_preprocessing.envs.mountain_car import ENV_ID as _MOUNTAIN_CAR_ID  # noqa: E402

MODELS = config.get("models", {})
MODEL_CODE = [*CORE_CODE, "reward_preprocessing/data", "reward_preprocessing/preprocessing"]


def model_env(name):
    """(gymnasium id, tabular?) of a configured model's env."""
    env = MODELS[name]["env"]
    if env == "mountain_car":
        return _MOUNTAIN_CAR_ID, False
    return _maze_env_id(_maze_layout(env)[0]), True


def model_targets():
    return [f"results/models/{name}/figure.{ext}" for name in MODELS for ext in ("png", "pdf", "html")]


def model_rollouts(wildcards):
    """The rollouts a MountainCar model is preprocessed over: its own dataset, or the configured expert's."""
    own = MODELS[wildcards.model].get("rollouts", {})
    if "dataset" in own or "policy" in own:
        return f"results/models/{wildcards.model}/rollouts"
    return "results/rollouts/mountain_car"


def model_rollouts_command(wildcards, input, output):
    """convert_trajectories.py for a dataset; collect_rollouts.py with the model's SB3 policy as the expert."""
    own = MODELS[wildcards.model]["rollouts"]
    env = model_env(wildcards.model)[0]
    if "dataset" in own:
        trust = " --trust-pickle" if own.get("trust_pickle", False) else ""
        return f"python scripts/convert_trajectories.py {input} --env {env}{trust} --out {output.rollouts}"
    if not own.get("trust_pickle", False):
        raise WorkflowError(
            f"models.{wildcards.model}.rollouts.policy: an SB3 zip holds pickled objects that SB3 unpickles; set "
            "rollouts.trust_pickle: true only for a file you trust"
        )
    return (f"python scripts/collect_rollouts.py --expert {input} --env-id {env} {rollout_sources()}"
            f" --min-timesteps {config['rollouts']['min_timesteps']} --seed {config['rollouts']['seed']}"
            f" --out {output.rollouts}")


def model_preprocess_inputs(wildcards):
    inputs = {"model": f"results/models/{wildcards.model}/model"}
    if not model_env(wildcards.model)[1]:
        inputs["rollouts"] = model_rollouts(wildcards)
        if MC["potential"].startswith("critic"):
            inputs["expert"] = "results/experts/mountain_car"
    return inputs


def model_preprocess_command(wildcards, input, output):
    """preprocess_tabular.py for a maze model, preprocess_neural.py (the MountainCar settings) otherwise."""
    if model_env(wildcards.model)[1]:
        return (f"python scripts/preprocess_tabular.py --model {input.model} --objective {wildcards.objective}"
                f" --solver {config['preprocessing']['solver']} --gamma {config['gamma']} --out {output.out}")
    fit = MC["fit"]
    expert = f" --expert {input.expert}" if "expert" in input.keys() else ""
    hidden = " ".join(str(h) for h in MC["hidden_sizes"])
    return (f"python scripts/preprocess_neural.py --model {input.model} --rollouts {input.rollouts}"
            f" --objective {wildcards.objective} --potential {MC['potential']} --hidden-sizes {hidden}{expert}"
            f" --gamma {config['gamma']} --batch-size {fit['batch_size']} --lr {fit['lr']}"
            f" --max-epochs {fit['max_epochs']} --tol {fit['tol']} --patience {fit['patience']} --seed {fit['seed']}"
            f" --out {output.out}")


def model_plot_inputs(wildcards):
    inputs = {"runs": [f"results/models/{wildcards.model}/preprocessed/{o}" for o in config["objectives"]],
              "plotlyjs": "results/plotly.min.js"}
    if not model_env(wildcards.model)[1]:
        inputs["rollouts"] = "results/rollouts/mountain_car_curve"
    return inputs


def model_plot_command(wildcards, input):
    objectives = " ".join(config["objectives"])
    runs = " ".join(input.runs)
    out = f"results/models/{wildcards.model}/figure"
    if model_env(wildcards.model)[1]:
        return (f"python scripts/plot_heatmap.py --maze {MODELS[wildcards.model]['env']} --rows {wildcards.model}"
                f" --columns {objectives} --runs {runs} --title '{wildcards.model}' --out {out}")
    return (f"python scripts/plot_curves.py --rollouts {input.rollouts} --rows {wildcards.model}"
            f" --columns {objectives} --runs {runs} --steps {config['rollouts']['curve_timesteps']}"
            f" --title '{wildcards.model}' --out {out}")
