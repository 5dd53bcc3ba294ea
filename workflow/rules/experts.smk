# Videos of experts (an env's SB3 agent or a maze's value-iteration policy) playing their unshaped task.


# A video of an expert playing its (unshaped) env, to see that it solves the task (bit-exact H.264).
ruleorder: image_expert_video > expert_video


rule expert_video:
    input:
        expert="results/experts/{expert}",
    output:
        video="results/videos/{expert}.mp4",
    params:
        settings=settings(
            {"episodes": config["experts"]["video_episodes"], "seed": config["experts"]["eval_seed"]}
        ),
        script=lambda wc: stage_script(wc.expert, "video"),
        code=lambda wc: code_version(stage_script(wc.expert, "video")),
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
        "python {params.script} --expert {input.expert} --settings {params.settings:q}"
        " --out {output.video} 2>&1 | tee {log}"


# An image env's expert: N evaluation episodes as MP4 and a GIF preview, the episode return drawn on the frames.
rule image_expert_video:
    input:
        expert="results/experts/{image_env}",
    output:
        video="results/videos/{image_env}.mp4",
        gif="results/videos/{image_env}.gif",
    params:
        settings=settings(
            {"episodes": config["experts"]["video_episodes"], "seed": config["experts"]["eval_seed"]}
        ),
        script=lambda wc: stage_script(wc.image_env, "video"),
        code=lambda wc: code_version(stage_script(wc.image_env, "video")),
        cache_key=cache_key,
    log:
        "results/logs/videos/{image_env}.log",
    cache: True
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    shell:
        "python {params.script} --expert {input.expert} --settings {params.settings:q}"
        " --out {output.video} 2>&1 | tee {log}"
