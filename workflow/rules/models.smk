# Your own reward models (config `models:`): import, preprocess with every configured objective, plot.
#
#   models:
#     mine:
#       path: path/to/reward_net.pt      # a torch.save'd imitation RewardNet, or a model directory
#       trust_pickle: true               # required for a .pt (read through the allow-list unpickler)
#       env: my_env                      # a maze (maze4, ...: exact preprocessing, a heatmap) or an envs: entry
#       rollouts: {dataset: path/to/rollouts.npz}   # envs: entries only; default: the env's expert rollouts
#       # or rollouts: {policy: path/to/sb3.zip, trust_pickle: true}: collected with your SB3 policy
#
# Targets: results/models/{model}/model (the imported model directory), .../rollouts/ (and .../rollouts_curve/
# for a policy), .../preprocessed/{objective}/ (for an image env, kind: image, a CNN potential fitted over the
# frames, whatever the model's input convention: rewards/frames.py), and .../figure.{png,pdf,html} (a heatmap
# for a maze, reward curves otherwise) or, for an image model, .../interpret/ (interpret.smk's outputs);
# `snakemake models` makes them for every configured model.


wildcard_constraints:
    model=_alternatives(MODELS),


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
        env_id=lambda wc: model_env_id(wc.model),
        env_kwargs=lambda wc: model_env_kwargs(wc.model),
        trust=lambda wc: "--trust-pickle" if MODELS[wc.model].get("trust_pickle", False) else "",
        code=code_version("scripts/import_reward_net.py"),
    log:
        "results/logs/models/{model}_import.log",
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python scripts/import_reward_net.py {input} --env {params.env_id} --env-kwargs {params.env_kwargs:q}"
        " {params.trust} --out {output.model} 2>&1 | tee {log}"


# A model's own trajectory file (.npz; .pkl with rollouts.trust_pickle) as a rollout directory, or rollouts
# collected with its SB3 policy zip (rollouts.policy, read through the allow-list; the env entry's `rollouts`
# settings, the policy in the expert's place) and the curve rollout of that policy.
rule model_rollouts:
    input:
        model_rollouts_input,
    output:
        rollouts=directory("results/models/{model}/rollouts"),
    params:
        command=model_rollouts_command,
        code=code_version("scripts/convert_trajectories.py") + code_version("scripts/collect_rollouts.py"),
    log:
        "results/logs/models/{model}_rollouts.log",
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=20,
    shell:
        "{params.command} 2>&1 | tee {log}"


use rule model_rollouts as model_curve_rollouts with:
    output:
        rollouts=directory("results/models/{model}/rollouts_curve"),
    log:
        "results/logs/models/{model}_rollouts_curve.log",


# Every configured objective in one job (exact solvers for a maze, a fitted potential otherwise).
rule preprocess_model:
    input:
        unpack(model_preprocess_inputs),
    output:
        **{objective: directory(f"results/models/{{model}}/preprocessed/{objective}") for objective in config["objectives"]},
    params:
        command=model_preprocess_command,
        code=code_version("scripts/preprocess_tabular.py") + code_version("scripts/preprocess_neural.py")
        + code_version("scripts/preprocess_image_reward.py"),
    log:
        "results/logs/models/{model}_preprocess.log",
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=lambda wc: model_preprocess_resource(wc.model, "mem_mb", 2000),
        runtime=lambda wc: model_preprocess_resource(wc.model, "runtime", 30),
        gpu=lambda wc: model_preprocess_resource(wc.model, "gpu", 0),
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
        command=model_plot_command,
        code=code_version("scripts/plot_model_heatmap.py") + code_version("scripts/plot_curves.py"),
    log:
        "results/logs/models/{model}_figure.log",
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "{params.command} 2>&1 | tee {log}"


# An image model's interpretation (interpret.smk's run over the rollouts it is preprocessed over; settings
# from its env entry's `interpret:` section).
rule interpret_model:
    input:
        unpack(model_interpret_inputs),
    output:
        **interpret_outputs("results/models/{model}/interpret", "{model}", "{model}"),
    params:
        settings=model_interpret_settings,
        out=lambda wc, output: os.path.dirname(output.features),
        title=lambda wc: f"{wc.model}: your reward model ({MODELS[wc.model]['env']})",
        code=code_version("scripts/interpret.py"),
    log:
        "results/logs/models/{model}_interpret.log",
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    shell:
        INTERPRET_SHELL
