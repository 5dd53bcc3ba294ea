# reward_preprocessing: from reward models to interpretable, preprocessed rewards and their figures.
# Stages live in workflow/rules/; common.smk validates the config before anything runs. Non-tabular
# environments are entries of the config's `envs:` section, not rules of their own (docs/architecture.md).

include: "workflow/rules/common.smk"
include: "workflow/rules/safety.smk"
include: "workflow/rules/mazes.smk"
include: "workflow/rules/envs.smk"
include: "workflow/rules/experts.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/interpret.smk"
include: "workflow/rules/models_common.smk"
include: "workflow/rules/models.smk"


rule all:
    input:
        default_targets(),


# One target per env entry, named after it (`snakemake <env>`): its curves and expert video. An entry with
# `in_all: false` (an image env whose laptop chain takes about an hour) is built only this way.
for _env in ENVS:

    rule:
        name:
            _env
        input:
            env_targets(_env),
