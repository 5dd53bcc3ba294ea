# Videos of experts (an env's SB3 agent or a maze's value-iteration policy) playing their unshaped task.


# A video of an expert playing its (unshaped) env, to see that it solves the task (bit-exact H.264).
rule expert_video:
    input:
        expert="results/experts/{expert}",
    output:
        video="results/videos/{expert}.mp4",
    params:
        settings=settings(
            {"episodes": config["experts"]["video_episodes"], "seed": config["experts"]["eval_seed"]}
        ),
        code=code_version("scripts/record_video.py"),
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
        "python scripts/record_video.py --expert {input.expert} --settings {params.settings:q}"
        " --out {output.video} 2>&1 | tee {log}"
