# Your own reward models (config `models:`): import, preprocess with every configured objective, plot.
#
#   models:
#     mine:
#       path: path/to/reward_net.pt      # a torch.save'd imitation RewardNet, or a model directory
#       trust_pickle: true               # required for a .pt (read through the allow-list unpickler)
#       env: mountain_car                # a maze name (maze4, ...: tabular, heatmaps) or mountain_car (curves)
#       rollouts: {dataset: path/to/rollouts.npz}   # MountainCar only; default: the configured expert's
#
# Targets: results/models/{model}/model (the imported model directory), .../preprocessed/{objective}/ and
# .../figure.{png,pdf,html} (a heatmap for a maze, reward curves along the expert's rollout for MountainCar);
# `snakemake models` makes every configured model's figure.

import re

from reward_preprocessing.envs.maze import env_id as _maze_env_id  # noqa: E402
from reward_preprocessing.envs.maze import layout_from_name as _maze_layout  # noqa: E402
from reward_preprocessing.envs.mountain_car import ENV_ID as _MOUNTAIN_CAR_ID  # noqa: E402

MODELS = config.get("models", {})
MODEL_CODE = [*CORE_CODE, "reward_preprocessing/data", "reward_preprocessing/preprocessing"]


wildcard_constraints:
    model="|".join(re.escape(name) for name in MODELS) or "(?!)",


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
    if "dataset" in MODELS[wildcards.model].get("rollouts", {}):
        return f"results/models/{wildcards.model}/rollouts"
    return "results/rollouts/mountain_car"


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


rule models:
    input:
        model_targets(),


# Import a .pt (allow-list unpickler, only with trust_pickle) or check and rewrite a model directory.
rule import_model:
    input:
        lambda wc: MODELS[wc.model]["path"],
    output:
        model=directory("results/models/{model}/model"),
    params:
        env=lambda wc: model_env(wc.model)[0],
        trust=lambda wc: "--trust-pickle" if MODELS[wc.model].get("trust_pickle", False) else "",
        code=code_version(*CORE_CODE, "scripts/import_reward_net.py"),
    log:
        "results/logs/models/{model}_import.log",
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python scripts/import_reward_net.py {input} --env {params.env} {params.trust} --out {output.model}"
        " 2>&1 | tee {log}"


# A model's own trajectory file (.npz; .pkl with rollouts.trust_pickle) as a rollout directory.
rule model_dataset_rollouts:
    input:
        lambda wc: MODELS[wc.model]["rollouts"]["dataset"],
    output:
        rollouts=directory("results/models/{model}/rollouts"),
    params:
        env=lambda wc: model_env(wc.model)[0],
        trust=lambda wc: "--trust-pickle" if MODELS[wc.model]["rollouts"].get("trust_pickle", False) else "",
        code=code_version(*CORE_CODE, "reward_preprocessing/data", "scripts/convert_trajectories.py"),
    log:
        "results/logs/models/{model}_rollouts.log",
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python scripts/convert_trajectories.py {input} --env {params.env} {params.trust} --out {output.rollouts}"
        " 2>&1 | tee {log}"


rule preprocess_model:
    input:
        unpack(model_preprocess_inputs),
    output:
        out=directory("results/models/{model}/preprocessed/{objective}"),
    params:
        command=model_preprocess_command,
        code=code_version(*MODEL_CODE, "reward_preprocessing/experts", "scripts/preprocess_tabular.py",
                          "scripts/preprocess_neural.py"),
    log:
        "results/logs/models/{model}_{objective}.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "{params.command} 2>&1 | tee {log}"


rule plot_model:
    input:
        unpack(model_plot_inputs),
    output:
        png="results/models/{model}/figure.png",
        pdf="results/models/{model}/figure.pdf",
        html="results/models/{model}/figure.html",
    params:
        command=lambda wc, input: model_plot_command(wc, input),
        code=code_version(*MODEL_CODE, "reward_preprocessing/plotting", "scripts/plot_heatmap.py",
                          "scripts/plot_curves.py"),
    log:
        "results/logs/models/{model}_figure.log",
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{params.command} 2>&1 | tee {log}"
