# Preprocessing: find the potential shaping that makes a reward sparsest or smoothest.


# Preprocess one tabular reward model for one objective; writes the model plus rewards.csv,
# potential.csv and metrics.json into one directory.
rule preprocess_tabular:
    input:
        model="results/reward_models/{source}/{maze}_{reward}_{shaping}",
    output:
        out=directory("results/preprocessed/{source}/{maze}_{reward}_{shaping}/{objective}"),
    params:
        solver=config["preprocessing"]["solver"],
        gamma=config["gamma"],
        code=code_version(*CORE_CODE, "reward_preprocessing/preprocessing", "scripts/preprocess_tabular.py"),
        cache_key=cache_key,
    log:
        "results/logs/preprocess/{source}/{maze}_{reward}_{shaping}_{objective}.log",
    cache: True
    conda:
        CONDA_ENV
    resources:
        mem_mb=2000,
        runtime=30,
    shell:
        "python scripts/preprocess_tabular.py --model {input.model} --objective {wildcards.objective}"
        " --solver {params.solver} --gamma {params.gamma} --out {output.out} 2>&1 | tee {log}"
