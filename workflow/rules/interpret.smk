# Interpretation of image reward models: feature visualization, NMF, dataset examples and integrated gradients
# (reward_preprocessing/interpret/, docs/interpret.md), its overview and report in the Snakemake report.


# What the reward model {source}_{shaping} of {env} responds to, over the env's rollouts; settings from the env
# entry's `interpret:` section (InterpretSettings, reward_preprocessing/interpret/run.py; defaults there).
rule interpret:
    input:
        model="results/reward_models/{source}/{env}_{shaping}",
        rollouts=lambda wc: env_rollouts(wc.env),  # the entry's `dataset` (e.g. a train-procgen .npz) if set
    output:
        **interpret_outputs("results/interpret/{env}/{source}_{shaping}", "{env}", "{source}_{shaping}"),
    params:
        settings=lambda wc: settings(ENVS[wc.env].get("interpret", {})),
        out=lambda wc, output: os.path.dirname(output.features),
        title=lambda wc: f"{wc.env}: {wc.source} reward model, {wc.shaping}",
        code=code_version("scripts/interpret.py"),
    log:
        "results/logs/interpret/{env}/{source}_{shaping}.log",
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    shell:
        INTERPRET_SHELL
