# Rollouts: trajectories of an expert, a random policy or a mixture, in imitation's format (+ rollouts.json).


ROLLOUT_CODE = code_version(
    *CORE_CODE, "reward_preprocessing/data", "reward_preprocessing/experts", "reward_preprocessing/jsonargs.py",
    "scripts/collect_rollouts.py",
)


# Collect at least min_timesteps timesteps from the configured mixture of the expert and a random policy,
# in the expert's env without shaping (so the stored rewards are the task's own).
rule collect_rollouts:
    input:
        expert="results/experts/{expert}",
    output:
        rollouts=directory("results/rollouts/{expert}"),
    params:
        sources=rollout_sources(),
        steps=config["rollouts"]["min_timesteps"],
        seed=config["rollouts"]["seed"],
        code=ROLLOUT_CODE,
        cache_key=cache_key,
    log:
        "results/logs/rollouts/{expert}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    shell:
        "python scripts/collect_rollouts.py --expert {input.expert} {params.sources}"
        " --min-timesteps {params.steps} --seed {params.seed} --out {output.rollouts} 2>&1 | tee {log}"


# The expert alone for curve_timesteps steps: the rollout along which reward curves are drawn.
rule curve_rollouts:
    input:
        expert="results/experts/{expert}",
    output:
        rollouts=directory("results/rollouts/{expert}_curve"),
    params:
        steps=config["rollouts"]["curve_timesteps"],
        seed=config["rollouts"]["seed"] + 1,
        code=ROLLOUT_CODE,
        cache_key=cache_key,
    log:
        "results/logs/rollouts/{expert}_curve.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python scripts/collect_rollouts.py --expert {input.expert} --source expert"
        " --min-timesteps {params.steps} --seed {params.seed} --out {output.rollouts} 2>&1 | tee {log}"
