# Reward models: ground-truth reward nets of every maze, reward and shaping.


# Save the exact reward of a maze as a tabular RewardNet directory (model.safetensors + spec.json).
rule ground_truth_reward:
    output:
        model=directory("results/reward_models/ground_truth/{maze}_{reward}_{shaping}"),
    params:
        gamma=config["gamma"],
        seed=config["shaping_seed"],
        code=code_version(*CORE_CODE, "scripts/make_ground_truth.py"),
        cache_key=cache_key,
    log:
        "results/logs/ground_truth/{maze}_{reward}_{shaping}.log",
    cache: True
    conda:
        CONDA_ENV
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python scripts/make_ground_truth.py --maze {wildcards.maze} --reward {wildcards.reward}"
        " --shaping {wildcards.shaping} --gamma {params.gamma} --shaping-seed {params.seed}"
        " --out {output.model} 2>&1 | tee {log}"
