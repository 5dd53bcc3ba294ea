# Learned reward models: tabular maze rewards learned from synthetic preferences, and their heatmaps.


# Learn the reward of one maze, reward and shaping from preferences between trajectory fragments, labelled by
# the shaped ground truth (imitation's preference comparisons); writes the model directory with metrics.json.
rule learned_reward:
    output:
        model=directory("results/reward_models/learned/{maze}_{reward}_{shaping}"),
    params:
        gamma=config["gamma"],
        shaping_seed=config["shaping_seed"],
        settings=preference_args(config["preferences"]),
        code=code_version(
            *CORE_CODE,
            "reward_preprocessing/training/preferences.py",
            "reward_preprocessing/training/preference_parts.py",
            "reward_preprocessing/training/tabular_metrics.py",
            "reward_preprocessing/experts/value_iteration.py",
            "scripts/train_preferences.py",
        ),
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
        gpu=config["preferences"]["gpu"],
    shell:
        "python scripts/train_preferences.py --maze {wildcards.maze} --reward {wildcards.reward}"
        " --shaping {wildcards.shaping} --gamma {params.gamma} --shaping-seed {params.shaping_seed}"
        " {params.settings} --out {output.model} 2>&1 | tee {log}"


# The main figure for the learned goal rewards of a maze: rows = shapings of the reward the preferences came
# from, columns = unmodified, sparse_l1 and smooth_log (the preprocessed learned models).
rule heatmap_learned:
    input:
        runs=heatmap_inputs("learned"),
        plotlyjs=rules.plotly_js.output,
    output:
        png=report(
            "results/heatmaps/{maze}_learned.png",
            caption="../report/heatmap_learned.rst",
            category="Learned reward heatmaps",
            labels={"maze": "{maze}"},
        ),
        pdf="results/heatmaps/{maze}_learned.pdf",
        html="results/heatmaps/{maze}_learned.html",
    params:
        shapings=config["shapings"],
        columns=heatmap_columns("default"),
        code=HEATMAP_CODE,
        cache_key=cache_key,
    log:
        "results/logs/heatmaps/{maze}_learned.log",
    cache: True
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python scripts/plot_heatmap.py --maze {wildcards.maze} --rows {params.shapings}"
        " --columns {params.columns} --runs {input.runs} --title '{wildcards.maze}, goal reward learned from preferences'"
        " --out results/heatmaps/{wildcards.maze}_learned 2>&1 | tee {log}"
