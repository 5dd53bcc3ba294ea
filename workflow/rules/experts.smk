# Experts: an SB3 agent for MountainCar, the exact optimal policy for each maze, and videos of them playing.


# Train the MountainCar expert with stable-baselines3 from the config's hyperparameters and evaluate it;
# writes model.zip, expert.json and metrics.json (return and success rate over eval_episodes episodes).
rule train_expert:
    output:
        expert=directory("results/experts/mountain_car"),
    params:
        algo=config["experts"]["mountain_car"]["algo"],
        steps=config["experts"]["mountain_car"]["total_timesteps"],
        seed=config["experts"]["mountain_car"]["seed"],
        n_envs=config["experts"]["mountain_car"]["n_envs"],
        env_kwargs=sb3_expert_arg("env_kwargs"),
        hyperparams=sb3_expert_arg("hyperparams"),
        policy_kwargs=sb3_expert_arg("policy_kwargs"),
        scale="--scale-observations" if config["experts"]["mountain_car"]["scale_observations"] else "",
        select_every=config["experts"]["mountain_car"]["select_every"],
        select_episodes=config["experts"]["mountain_car"]["select_episodes"],
        episodes=config["experts"]["eval_episodes"],
        eval_seed=config["experts"]["eval_seed"],
        code=code_version(*CORE_CODE, "reward_preprocessing/experts", "reward_preprocessing/jsonargs.py",
                          "scripts/train_expert.py"),
        cache_key=cache_key,
    log:
        "results/logs/experts/mountain_car.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=3000,
        runtime=60,
        gpu=config["experts"]["mountain_car"]["gpu"],
    shell:
        "python scripts/train_expert.py --env-id reward_preprocessing/MountainCar-v0 --algo {params.algo}"
        " --total-timesteps {params.steps} --seed {params.seed} --n-envs {params.n_envs}"
        " --env-kwargs '{params.env_kwargs}' --hyperparams '{params.hyperparams}'"
        " --policy-kwargs '{params.policy_kwargs}' {params.scale} --select-every {params.select_every}"
        " --select-episodes {params.select_episodes} --eval-episodes {params.episodes}"
        " --eval-seed {params.eval_seed} --out {output.expert} 2>&1 | tee {log}"


# The maze expert: the exact optimal policy of the unshaped maze by value iteration, as a JSON policy table.
rule maze_expert:
    output:
        expert=directory("results/experts/{maze}_{reward}"),
    params:
        gamma=config["gamma"],
        episodes=config["experts"]["eval_episodes"],
        eval_seed=config["experts"]["eval_seed"],
        code=code_version(*CORE_CODE, "reward_preprocessing/experts", "scripts/maze_expert.py"),
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
        "python scripts/maze_expert.py --maze {wildcards.maze} --reward {wildcards.reward} --gamma {params.gamma}"
        " --eval-episodes {params.episodes} --eval-seed {params.eval_seed} --out {output.expert} 2>&1 | tee {log}"


# A video of an expert playing its (unshaped) env, to see that it solves the task (bit-exact H.264).
rule expert_video:
    input:
        expert="results/experts/{expert}",
    output:
        video="results/videos/{expert}.mp4",
    params:
        episodes=config["experts"]["video_episodes"],
        seed=config["experts"]["eval_seed"],
        code=code_version(*CORE_CODE, "reward_preprocessing/experts", "scripts/record_video.py"),
        cache_key=cache_key,
    log:
        "results/logs/videos/{expert}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    shell:
        "python scripts/record_video.py --expert {input.expert} --episodes {params.episodes} --seed {params.seed}"
        " --out {output.video} 2>&1 | tee {log}"
