# Interpretation of image reward models: feature visualization, NMF, dataset examples and integrated gradients
# (reward_preprocessing/interpret/, docs/interpret.md), its overview and report in the Snakemake report.


# What the reward model {source}_{shaping} of {env} responds to, over the env's rollouts; settings from the env
# entry's `interpret:` section (InterpretSettings, reward_preprocessing/interpret/run.py; defaults there).
rule interpret:
    input:
        model="results/reward_models/{source}/{env}_{shaping}",
        rollouts="results/rollouts/{env}",
    output:
        overview=report(
            "results/interpret/{env}/{source}_{shaping}/overview.png",
            caption="../report/interpret.rst",
            category="Interpretation",
            subcategory="{env}",
            labels={"env": "{env}", "model": "{source}_{shaping}", "figure": "overview"},
        ),
        html=report(
            "results/interpret/{env}/{source}_{shaping}/report.html",
            caption="../report/interpret_html.rst",
            category="Interpretation",
            subcategory="{env}",
            labels={"env": "{env}", "model": "{source}_{shaping}", "figure": "interactive report"},
        ),
        features="results/interpret/{env}/{source}_{shaping}/features.json",
        pngs=directory("results/interpret/{env}/{source}_{shaping}/features"),
    params:
        settings=lambda wc: settings(ENVS[wc.env].get("interpret", {})),
        out=lambda wc, output: os.path.dirname(output.features),
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
        "python scripts/interpret.py --model {input.model} --rollouts {input.rollouts} --out {params.out}"
        " --title '{wildcards.env}: {wildcards.source} reward model, {wildcards.shaping}'"
        " --settings {params.settings:q} --threads {threads} 2>&1 | tee {log}"
