# Your own reward models (config `models:`): import, preprocess with every configured objective, plot.
#
#   models:
#     mine:
#       path: path/to/reward_net.pt      # a torch.save'd imitation RewardNet, or a model directory
#       trust_pickle: true               # required for a .pt (read through the allow-list unpickler)
#       env: mountain_car                # a maze name (maze4, ...: tabular, heatmaps) or mountain_car (curves)
#       rollouts: {dataset: path/to/rollouts.npz}   # or {policy: sb3.zip}; MountainCar only; default: the expert's
#
# Targets: results/models/{model}/model (the imported model directory), .../preprocessed/{objective}/ and
# .../figure.{png,pdf,html} (a heatmap for a maze, reward curves along the expert's rollout for MountainCar);
# `snakemake models` makes every configured model's figure.

wildcard_constraints:
    model="|".join(re.escape(name) for name in MODELS) or "(?!)",


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


# A model's own rollouts: its trajectory file (.npz; .pkl with rollouts.trust_pickle) converted, or rollouts of
# its SB3 policy (rollouts.policy, a .zip: the configured mixture with that policy as the expert).
rule model_rollouts:
    input:
        lambda wc: MODELS[wc.model]["rollouts"].get("dataset") or MODELS[wc.model]["rollouts"]["policy"],
    output:
        rollouts=directory("results/models/{model}/rollouts"),
    params:
        command=model_rollouts_command,
        code=code_version(*CORE_CODE, "reward_preprocessing/data", "reward_preprocessing/experts",
                          "scripts/convert_trajectories.py", "scripts/collect_rollouts.py"),
    log:
        "results/logs/models/{model}_rollouts.log",
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=20,
    shell:
        "{params.command} 2>&1 | tee {log}"


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
