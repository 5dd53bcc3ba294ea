# Non-tabular environments, one entry of `envs:` each: expert -> rollouts -> reward models -> neural
# preprocessing -> reward curves. Every rule takes the env's name as the {env} wildcard and its settings from
# its entry; none names a particular env.

# Train the env's SB3 expert from its `expert` settings and evaluate it on the unshaped task;
# writes model.zip, expert.json and metrics.json (return and success rate over eval_episodes episodes).
rule train_expert:
    output:
        expert=directory("results/experts/{env}"),
    params:
        env_id=lambda wc: ENVS[wc.env]["id"],
        env_kwargs=lambda wc: env_kwargs_json(wc.env),
        settings=lambda wc: settings({
            **ENVS[wc.env].get("expert", {}),
            "eval_episodes": config["experts"]["eval_episodes"], "eval_seed": config["experts"]["eval_seed"],
        }),
        code=code_version("scripts/train_expert.py"),
        cache_key=cache_key,
    log:
        "results/logs/experts/{env}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
        gpu=lambda wc: env_gpus(wc.env, "expert"),
    shell:
        "python scripts/train_expert.py --env-id {params.env_id} --env-kwargs {params.env_kwargs:q}"
        " --settings {params.settings:q} --threads {threads} --out {output.expert} 2>&1 | tee {log}"


# Rollouts of the expert mixed with a random policy (the env's `rollouts` settings) on its unshaped task, in
# imitation's format plus rollouts.json; and the expert alone for curve_timesteps steps, along which reward
# curves are drawn.
rule collect_rollouts:
    input:
        expert="results/experts/{env}",
    output:
        rollouts=directory("results/rollouts/{env}"),
    params:
        settings=lambda wc: settings(ENVS[wc.env].get("rollouts", {})),
        code=code_version("scripts/collect_rollouts.py"),
        cache_key=cache_key,
    log:
        "results/logs/rollouts/{env}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    shell:
        "python scripts/collect_rollouts.py --expert {input.expert} --settings {params.settings:q}"
        " --out {output.rollouts} 2>&1 | tee {log}"


rule curve_rollouts:
    input:
        expert="results/experts/{env}",
    output:
        rollouts=directory("results/rollouts/{env}_curve"),
    params:
        settings=lambda wc: settings(ENVS[wc.env].get("rollouts", {})),
        code=code_version("scripts/collect_rollouts.py"),
        cache_key=cache_key,
    log:
        "results/logs/rollouts/{env}_curve.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python scripts/collect_rollouts.py --expert {input.expert} --settings {params.settings:q} --curve"
        " --out {output.rollouts} 2>&1 | tee {log}"


# The exact reward of the env under one shaping, as a reward-model directory (envs with `ground_truth: true`).
rule env_ground_truth:
    output:
        model=directory("results/reward_models/ground_truth/{env}_{shaping}"),
    wildcard_constraints:
        env=_alternatives(ENVS_WITH_GROUND_TRUTH),
    params:
        env_id=lambda wc: ENVS[wc.env]["id"],
        env_kwargs=lambda wc: env_kwargs_json(
            wc.env, shaping=wc.shaping, gamma=config["gamma"], shaping_seed=config["shaping_seed"]
        ),
        code=code_version("scripts/env_ground_truth.py"),
        cache_key=cache_key,
    log:
        "results/logs/ground_truth/{env}_{shaping}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python scripts/env_ground_truth.py --env-id {params.env_id} --env-kwargs {params.env_kwargs:q}"
        " --out {output.model} 2>&1 | tee {log}"


# Regress the env's reward model (`reward_model` settings: kind, labels, network, optimizer) on its rollouts;
# the train/test split is by trajectory and the test metrics go to metrics.json.
rule env_reward_model:
    input:
        unpack(reward_model_inputs),
    output:
        model=directory("results/reward_models/learned/{env}_{shaping}"),
    params:
        target=lambda wc, input: f"--target {input.target}" if "target" in input.keys() else "",
        settings=lambda wc: settings(ENVS[wc.env].get("reward_model", {})),
        code=code_version("scripts/train_reward_model.py"),
        cache_key=cache_key,
    log:
        "results/logs/supervised/{env}_{shaping}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
        gpu=lambda wc: env_gpus(wc.env, "reward_model"),
    shell:
        "python scripts/train_reward_model.py --rollouts {input.rollouts} {params.target}"
        " --settings {params.settings:q} --threads {threads} --out {output.model} 2>&1 | tee {log}"


# Fit a neural potential (and shift) over the rollouts' transitions for every objective; each directory holds
# the preprocessed model (PreprocessedRewardNet) and metrics.json with the objective before and after.
rule preprocess_neural:
    input:
        unpack(neural_preprocess_inputs),
    output:
        **{
            objective: directory(f"results/preprocessed/{{source}}/{{env}}_{{shaping}}/{objective}")
            for objective in config["objectives"]
        },
    params:
        expert=lambda wc, input: f"--expert {input.expert}" if "expert" in input.keys() else "",
        settings=lambda wc: settings({
            **ENVS[wc.env].get("preprocess", {}), "gamma": config["gamma"], "objectives": config["objectives"],
        }),
        code=code_version("scripts/preprocess_neural.py"),
        cache_key=cache_key,
    log:
        "results/logs/preprocess/{source}/{env}_{shaping}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
        gpu=lambda wc: env_gpus(wc.env, "preprocess"),
    shell:
        "python scripts/preprocess_neural.py --model {input.model} --rollouts {input.rollouts} {params.expert}"
        " --settings {params.settings:q} --threads {threads}"
        " --out results/preprocessed/{wildcards.source}/{wildcards.env}_{wildcards.shaping} 2>&1 | tee {log}"
