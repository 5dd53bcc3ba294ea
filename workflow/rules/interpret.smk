# Interpretation of image reward models: feature visualization, NMF, dataset examples and integrated gradients
# (reward_preprocessing/interpret/), one run per env and model, its overview and report in the Snakemake report.

import json

# Optional config section `interpret:` -- settings: InterpretSettings fields (the dataclass holds the defaults);
# inputs: {env: {model: PATTERN, rollouts: PATTERN}} overriding where an env's models and rollouts live.
INTERPRET = config.get("interpret", {})
INTERPRET_INPUTS = {"model": "results/reward_models/{env}/{model}", "rollouts": "results/rollouts/{env}"}
INTERPRET_CODE = code_version(*CORE_CODE, "reward_preprocessing/interpret", "scripts/interpret.py")


# What does the reward model {model} of {env} respond to: its features, their best dataset examples, attribution.
rule interpret:
    input:
        # The model directory and the rollouts (imitation directory or train-procgen .npz) of this env and model.
        model=lambda wc: INTERPRET.get("inputs", {}).get(wc.env, {}).get("model", INTERPRET_INPUTS["model"]).format(
            env=wc.env, model=wc.model
        ),
        rollouts=lambda wc: INTERPRET.get("inputs", {})
        .get(wc.env, {})
        .get("rollouts", INTERPRET_INPUTS["rollouts"])
        .format(env=wc.env, model=wc.model),
    output:
        overview=report(
            "results/interpret/{env}/{model}/overview.png",
            caption="../report/interpret.rst",
            category="Interpretation",
            subcategory="{env}",
            labels={"env": "{env}", "model": "{model}", "figure": "overview"},
        ),
        html=report(
            "results/interpret/{env}/{model}/report.html",
            caption="../report/interpret_html.rst",
            category="Interpretation",
            subcategory="{env}",
            labels={"env": "{env}", "model": "{model}", "figure": "interactive report"},
        ),
        features="results/interpret/{env}/{model}/features.json",
        pngs=directory("results/interpret/{env}/{model}/features"),
    params:
        settings=json.dumps(INTERPRET.get("settings", {}), sort_keys=True),
        out=lambda wc, output: os.path.dirname(output.features),
        code=INTERPRET_CODE,
    log:
        "results/logs/interpret/{env}/{model}.log",
    conda:
        CONDA_ENV
    threads: 2
    resources:
        mem_mb=8000,
        runtime=60,
    shell:
        "python scripts/interpret.py --model {input.model} --rollouts {input.rollouts} --out {params.out}"
        " --title '{wildcards.env}: {wildcards.model}' --settings {params.settings:q} --threads {threads}"
        " 2>&1 | tee {log}"
