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
