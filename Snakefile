# reward_preprocessing: from reward models to interpretable, preprocessed rewards and their figures.
# Stages live in workflow/rules/; common.smk validates the config before anything runs.

include: "workflow/rules/common.smk"
include: "workflow/rules/safety.smk"
include: "workflow/rules/reward_models.smk"
include: "workflow/rules/preprocess.smk"
include: "workflow/rules/plots.smk"
include: "workflow/rules/learned.smk"
include: "workflow/rules/experts.smk"
include: "workflow/rules/rollouts.smk"
include: "workflow/rules/mountain_car.smk"
include: "workflow/rules/models_common.smk"
include: "workflow/rules/models.smk"


rule all:
    input:
        default_targets(),
