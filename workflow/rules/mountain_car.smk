# MountainCar: ground-truth and supervised reward models, neural preprocessing over rollouts, reward curves.

MC = config["mountain_car"]


# The exact reward of MountainCar under one shaping, as a (weightless) RewardNet directory.
rule mountain_car_ground_truth:
    output:
        model=directory("results/reward_models/ground_truth/mountain_car_{shaping}"),
    params:
        gamma=config["gamma"],
        seed=config["shaping_seed"],
        code=code_version(*CORE_CODE, "scripts/make_mountain_car_reward.py"),
        cache_key=cache_key,
    log:
        "results/logs/ground_truth/mountain_car_{shaping}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    shell:
        "python scripts/make_mountain_car_reward.py --shaping {wildcards.shaping} --gamma {params.gamma}"
        " --shaping-seed {params.seed} --out {output.model} 2>&1 | tee {log}"


# Regress an MLP over (state, next state) on the rollouts, labelled by the shaped ground truth;
# the train/test split is by trajectory and the test metrics go to metrics.json.
rule mountain_car_supervised:
    input:
        rollouts="results/rollouts/mountain_car",
        target="results/reward_models/ground_truth/mountain_car_{shaping}",
    output:
        model=directory("results/reward_models/learned/mountain_car_{shaping}"),
    params:
        hidden=MC["supervised"]["hidden_sizes"],
        epochs=MC["supervised"]["epochs"],
        batch=MC["supervised"]["batch_size"],
        lr=MC["supervised"]["lr"],
        test=MC["supervised"]["test_fraction"],
        seed=MC["supervised"]["seed"],
        code=code_version(*CORE_CODE, "reward_preprocessing/data", "reward_preprocessing/training",
                          "scripts/train_reward_supervised.py"),
        cache_key=cache_key,
    log:
        "results/logs/supervised/mountain_car_{shaping}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
        gpu=MC["gpu"],
    shell:
        "python scripts/train_reward_supervised.py --rollouts {input.rollouts} --target {input.target}"
        " --hidden-sizes {params.hidden} --epochs {params.epochs} --batch-size {params.batch} --lr {params.lr}"
        " --test-fraction {params.test} --seed {params.seed} --out {output.model} 2>&1 | tee {log}"


# Fit a neural potential (and shift) over the rollouts' transitions for one objective; writes the
# preprocessed model (PreprocessedRewardNet) and metrics.json with the objective before and after.
rule preprocess_neural:
    input:
        unpack(neural_preprocess_inputs),
    output:
        out=directory("results/preprocessed/{source}/mountain_car_{shaping}/{objective}"),
    params:
        potential=MC["potential"],
        hidden=MC["hidden_sizes"],
        expert=lambda wc, input: f"--expert {input.expert}" if "expert" in input.keys() else "",
        gamma=config["gamma"],
        batch=MC["fit"]["batch_size"],
        lr=MC["fit"]["lr"],
        epochs=MC["fit"]["max_epochs"],
        tol=MC["fit"]["tol"],
        patience=MC["fit"]["patience"],
        seed=MC["fit"]["seed"],
        code=code_version(*CORE_CODE, "reward_preprocessing/data", "reward_preprocessing/preprocessing",
                          "reward_preprocessing/experts", "scripts/preprocess_neural.py"),
        cache_key=cache_key,
    log:
        "results/logs/preprocess/{source}/mountain_car_{shaping}_{objective}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
        gpu=MC["gpu"],
    shell:
        "python scripts/preprocess_neural.py --model {input.model} --rollouts {input.rollouts}"
        " --objective {wildcards.objective} --potential {params.potential} --hidden-sizes {params.hidden}"
        " {params.expert} --gamma {params.gamma} --batch-size {params.batch} --lr {params.lr}"
        " --max-epochs {params.epochs} --tol {params.tol} --patience {params.patience} --seed {params.seed}"
        " --out {output.out} 2>&1 | tee {log}"


# Reward curves along the expert's curve rollout: rows = shapings, columns = unmodified + objectives;
# `mountain_car` plots the ground-truth models, `mountain_car_learned` the supervised ones.
rule reward_curves:
    input:
        runs=curve_inputs,
        rollouts="results/rollouts/mountain_car_curve",
        plotlyjs=rules.plotly_js.output,
    output:
        png=report(
            "results/curves/{curve}.png",
            caption="../report/reward_curves.rst",
            category="Reward curves",
            labels={"figure": "{curve}"},
        ),
        pdf="results/curves/{curve}.pdf",
        html="results/curves/{curve}.html",
    params:
        shapings=config["shapings"],
        objectives=config["objectives"],
        steps=config["rollouts"]["curve_timesteps"],
        title=lambda wc: "MountainCar, learned reward" if wc.curve.endswith("_learned") else "MountainCar",
        code=code_version(*CORE_CODE, "reward_preprocessing/data", "reward_preprocessing/plotting",
                          "scripts/plot_curves.py"),
        cache_key=cache_key,
    log:
        "results/logs/curves/{curve}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python scripts/plot_curves.py --rollouts {input.rollouts} --rows {params.shapings}"
        " --columns {params.objectives} --runs {input.runs} --steps {params.steps} --title '{params.title}'"
        " --out results/curves/{wildcards.curve} 2>&1 | tee {log}"
