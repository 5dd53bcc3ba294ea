# Mazes: ground-truth reward models with their preprocessed versions, experts, and rewards learned from
# preferences. Batched per maze: the solves take milliseconds, starting a Python process with torch seconds.

# Every ground-truth reward of one maze (each reward x shaping, as a tabular RewardNet directory:
# model.safetensors + spec.json), each preprocessed for every objective (model, rewards.csv, potential.csv,
# metrics.json per directory), in one job.
rule maze_ground_truth:
    output:
        # Each output named (the output cache needs names; a list under one name it cannot store).
        **{f"model_{key}": directory(f"results/reward_models/ground_truth/{run}") for key, run in maze_runs()},
        **{
            f"preprocessed_{key}_{objective}": directory(f"results/preprocessed/ground_truth/{run}/{objective}")
            for key, run in maze_runs()
            for objective in MAZE_OBJECTIVES
        },
    params:
        settings=lambda wc: settings({
            "maze": wc.maze, "rewards": config["rewards"], "shapings": config["shapings"],
            "gamma": config["gamma"], "shaping_seed": config["shaping_seed"], "preprocessing": tabular_settings(),
        }),
        code=code_version("scripts/maze_ground_truth.py"),
        cache_key=cache_key,
    log:
        "results/logs/ground_truth/{maze}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "python scripts/maze_ground_truth.py --settings {params.settings:q}"
        " --models-dir results/reward_models/ground_truth --preprocessed-dir results/preprocessed/ground_truth"
        " 2>&1 | tee {log}"


# Preprocess one learned maze reward for every objective.
rule preprocess_tabular:
    input:
        model="results/reward_models/learned/{maze}_{reward}_{shaping}",
    output:
        **{
            objective: directory(f"results/preprocessed/learned/{{maze}}_{{reward}}_{{shaping}}/{objective}")
            for objective in MAZE_OBJECTIVES
        },
    params:
        settings=settings(tabular_settings()),
        code=code_version("scripts/preprocess_tabular.py"),
        cache_key=cache_key,
    log:
        "results/logs/preprocess/learned/{maze}_{reward}_{shaping}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "python scripts/preprocess_tabular.py --model {input.model} --settings {params.settings:q}"
        " --out results/preprocessed/learned/{wildcards.maze}_{wildcards.reward}_{wildcards.shaping} 2>&1 | tee {log}"


# Learn the reward of one maze, reward and shaping from preferences between trajectory fragments, labelled by
# the shaped ground truth (imitation's preference comparisons); writes the model directory with metrics.json.
rule learned_reward:
    output:
        model=directory("results/reward_models/learned/{maze}_{reward}_{shaping}"),
    params:
        settings=lambda wc: settings({
            "maze": wc.maze, "reward": wc.reward, "shaping": wc.shaping, "gamma": config["gamma"],
            "shaping_seed": config["shaping_seed"],
            **{k: config["preferences"][k] for k in ("preset", "seed", "overrides")},
        }),
        code=code_version("scripts/train_preferences.py"),
        cache_key=cache_key,
    log:
        "results/logs/learned/{maze}_{reward}_{shaping}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=config["preferences"]["runtime"],
    shell:
        "python scripts/train_preferences.py --settings {params.settings:q} --out {output.model} 2>&1 | tee {log}"


# The maze expert: the exact optimal policy of the unshaped maze by value iteration, as a JSON policy table.
rule maze_expert:
    output:
        expert=directory("results/experts/{maze}_{reward}"),
    params:
        settings=lambda wc: settings({
            "maze": wc.maze, "reward": wc.reward, "gamma": config["gamma"],
            "eval_episodes": config["experts"]["eval_episodes"], "eval_seed": config["experts"]["eval_seed"],
        }),
        code=code_version("scripts/maze_expert.py"),
        cache_key=cache_key,
    log:
        "results/logs/experts/{maze}_{reward}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    shell:
        "python scripts/maze_expert.py --settings {params.settings:q} --out {output.expert} 2>&1 | tee {log}"
