# Figures: maze reward heatmaps and reward curves of the envs (PNG, PDF and interactive HTML).

# Seconds of work: on a cluster it runs next to Snakemake instead of waiting for a node.
localrules: plotly_js


# The plotly library, written once and shared by every interactive figure.
rule plotly_js:
    output:
        "results/plotly.min.js",
    params:
        code=code_version("scripts/write_plotlyjs.py"),
    log:
        "results/logs/plotly_js.log",
    cache: True
    conda:
        CONDA_ENV
    resources:
        mem_mb=500,
        runtime=5,
    shell:
        "python scripts/write_plotlyjs.py --out {output} 2>&1 | tee {log}"


# Every ground-truth heatmap of one maze in one job: the full grid of each reward and column mode (rows =
# shapings, columns = unmodified + the mode's objectives), and the paper's main figure {maze}.png (the goal
# reward in the default columns: unmodified, sparse_l1, smooth_log).
rule maze_heatmaps:
    input:
        runs=heatmap_inputs,
        plotlyjs=rules.plotly_js.output,
    output:
        **heatmap_figures(),
    params:
        settings=lambda wc: settings({
            "maze": wc.maze, "source": "ground_truth", "rewards": config["rewards"], "shapings": config["shapings"],
            "modes": config["heatmap_modes"],
        }),
        code=code_version("scripts/plot_maze_figures.py"),
        cache_key=cache_key,
    log:
        "results/logs/heatmaps/{maze}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python scripts/plot_maze_figures.py --settings {params.settings:q}"
        " --runs-dir results/preprocessed/ground_truth --out-dir results/heatmaps 2>&1 | tee {log}"


# The main figure for the learned goal rewards of a maze: rows = shapings of the reward the preferences came
# from, columns = unmodified, sparse_l1 and smooth_log (the preprocessed learned models).
rule heatmap_learned:
    input:
        runs=lambda wc: [
            f"results/preprocessed/learned/{wc.maze}_goal_{shaping}/{column}"
            for shaping in config["shapings"]
            for column in HEATMAP_MODES["default"]
        ],
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
        settings=lambda wc: settings({"maze": wc.maze, "source": "learned", "shapings": config["shapings"]}),
        code=code_version("scripts/plot_maze_figures.py"),
        cache_key=cache_key,
    log:
        "results/logs/heatmaps/{maze}_learned.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python scripts/plot_maze_figures.py --settings {params.settings:q}"
        " --runs-dir results/preprocessed/learned --out-dir results/heatmaps 2>&1 | tee {log}"


# Reward curves along the expert's curve rollout: rows = shapings, columns = unmodified + objectives;
# {env} plots the ground-truth models (the learned ones for an env without ground truth), {env}_learned the
# learned ones.
rule reward_curves:
    input:
        runs=curve_inputs,
        rollouts=lambda wc: f"results/rollouts/{curve_env(wc)}_curve",
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
    wildcard_constraints:
        curve=_alternatives(CURVES),
    params:
        settings=curve_settings,
        code=code_version("scripts/plot_curves.py"),
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
        "python scripts/plot_curves.py --rollouts {input.rollouts} --runs {input.runs} --settings {params.settings:q}"
        " --out results/curves/{wildcards.curve} 2>&1 | tee {log}"


# Catch-all for misspelt targets under results/: fails before any job runs, naming the unknown part.
rule unknown_target:
    input:
        _explain_bad_target,
    output:
        "results/{path}",
    log:
        "results/logs/unknown_target/{path}.log",
    conda:
        CONDA_ENV
    shell:
        "false"


ruleorder: maze_heatmaps > heatmap_learned > unknown_target
