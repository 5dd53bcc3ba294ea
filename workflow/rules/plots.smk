# Figures: gridworld reward heatmaps (PNG, PDF and interactive HTML).


HEATMAP_CODE = code_version(*CORE_CODE, "reward_preprocessing/plotting", "scripts/plot_heatmap.py")

# Seconds of work each: on a cluster they run next to Snakemake instead of waiting for a node.
localrules: plotly_js, heatmap_main


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


# The full heatmap grid of one maze, reward and column mode: rows = shapings, columns = objectives.
rule heatmap_grid:
    input:
        runs=heatmap_inputs("ground_truth"),
        plotlyjs=rules.plotly_js.output,
    output:
        # Named rather than multiext(), so that only the PNG goes into the report (`snakemake --report`).
        png=report(
            "results/heatmaps/{maze}_{reward}_{mode}.png",
            caption="../report/heatmap_grid.rst",
            category="Maze heatmaps",
            subcategory="{maze}",
            labels={"maze": "{maze}", "reward": "{reward}", "columns": "{mode}"},
        ),
        pdf="results/heatmaps/{maze}_{reward}_{mode}.pdf",
        html="results/heatmaps/{maze}_{reward}_{mode}.html",
    params:
        shapings=config["shapings"],
        columns=lambda wc: heatmap_columns(wc.mode),
        code=HEATMAP_CODE,
        cache_key=cache_key,
    log:
        "results/logs/heatmaps/{maze}_{reward}_{mode}.log",
    cache: True
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=10,
    shell:
        "python scripts/plot_heatmap.py --maze {wildcards.maze} --rows {params.shapings}"
        " --columns {params.columns} --runs {input.runs} --title '{wildcards.maze}, {wildcards.reward} reward'"
        " --out results/heatmaps/{wildcards.maze}_{wildcards.reward}_{wildcards.mode} 2>&1 | tee {log}"


# The paper's main figure for a maze: the goal-reward grid in the default columns
# (unmodified, sparse_l1, smooth_log), under the short name the paper's readers look for.
rule heatmap_main:
    input:
        multiext("results/heatmaps/{maze}_goal_default", ".png", ".pdf", ".html"),
    output:
        png=report(
            "results/heatmaps/{maze}.png",
            caption="../report/heatmap_main.rst",
            category="Main figures",
            labels={"maze": "{maze}"},
        ),
        pdf="results/heatmaps/{maze}.pdf",
        html="results/heatmaps/{maze}.html",
    params:
        cache_key=cache_key,
    log:
        "results/logs/heatmaps/{maze}.log",
    cache: True
    conda:
        CONDA_ENV
    resources:
        mem_mb=100,
        runtime=1,
    shell:
        "for ext in png pdf html; do cp -v results/heatmaps/{wildcards.maze}_goal_default.$ext"
        " results/heatmaps/{wildcards.maze}.$ext; done 2>&1 | tee {log}"


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


ruleorder: heatmap_main > heatmap_grid > unknown_target
