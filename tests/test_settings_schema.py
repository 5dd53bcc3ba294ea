"""Each setting is declared once: the config schema mirrors the stage settings dataclasses key for key, the
default config builds every one of them, and no rule, helper or script names a particular non-tabular env."""

from __future__ import annotations

import dataclasses
import re

import pytest
import yaml

from reward_preprocessing.data.rollouts import RolloutSettings
from reward_preprocessing.errors import UserError
from reward_preprocessing.experts.image_stages import ImageExpertSettings, ImageRolloutSettings
from reward_preprocessing.experts.sb3 import ExpertSettings
from reward_preprocessing.interpret.run import InterpretSettings
from reward_preprocessing.preprocessing.image_fit import ImageFitSettings
from reward_preprocessing.preprocessing.image_run import ImagePreprocessSettings
from reward_preprocessing.preprocessing.neural_run import FitSettings, NeuralPreprocessSettings
from reward_preprocessing.settings import from_mapping, parse_settings
from reward_preprocessing.training.image_reward import CnnRewardSettings
from reward_preprocessing.training.supervised import RewardModelSettings
from tests.workflow_helpers import REPO_ROOT

SCHEMA = yaml.safe_load((REPO_ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
ENV_SCHEMA = SCHEMA["properties"]["envs"]["additionalProperties"]["properties"]
# Section of an `envs:` entry -> its dataclass, less the fields a rule fills in from elsewhere in the config.
SECTIONS = {
    "expert": (ExpertSettings, {"eval_episodes", "eval_seed"}),
    "rollouts": (RolloutSettings, set()),
    "reward_model": (RewardModelSettings, set()),
    "preprocess": (NeuralPreprocessSettings, {"gamma", "objectives"}),
}
# Sections of one schema for every kind.
COMMON_SECTIONS = {"interpret": (InterpretSettings, set())}
# The same for entries of `kind: image`: the second alternative of each section's schema.
IMAGE_SECTIONS = {
    "expert": (ImageExpertSettings, {"env"}),  # env: the entry's kwargs
    "rollouts": (ImageRolloutSettings, {"env"}),  # env: the expert's
    "reward_model": (CnnRewardSettings, set()),
    "preprocess": (ImagePreprocessSettings, {"gamma", "objectives"}),
}
KINDS = {"vector": (0, SECTIONS), "image": (1, IMAGE_SECTIONS)}


def field_names(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def section_schema(section: str, kind: str = "vector") -> dict:
    return ENV_SCHEMA[section]["anyOf"][KINDS[kind][0]]


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_schema_section_mirrors_its_dataclass(section, kind):
    cls, filled_by_rules = KINDS[kind][1][section]
    schema = section_schema(section, kind)
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == field_names(cls) - filled_by_rules


@pytest.mark.parametrize("section", sorted(COMMON_SECTIONS))
def test_common_section_mirrors_its_dataclass(section):
    cls, filled_by_rules = COMMON_SECTIONS[section]
    assert ENV_SCHEMA[section]["additionalProperties"] is False
    assert set(ENV_SCHEMA[section]["properties"]) == field_names(cls) - filled_by_rules


def test_fit_settings_mirror_their_schema():
    assert set(section_schema("preprocess")["properties"]["fit"]["properties"]) == field_names(FitSettings)
    image_fit = section_schema("preprocess", "image")["properties"]["fit"]["properties"]
    assert set(image_fit) == field_names(ImageFitSettings)


@pytest.mark.parametrize("config", ["config.yaml", "paper.yaml"])
def test_every_env_section_of_the_configs_builds_its_settings(config):
    envs = yaml.safe_load((REPO_ROOT / "config" / config).read_text())["envs"]
    assert envs
    for name, entry in envs.items():
        for section, (cls, _) in {**KINDS[entry.get("kind", "vector")][1], **COMMON_SECTIONS}.items():
            from_mapping(cls, entry.get(section, {}), f"envs.{name}.{section}")


def test_unknown_or_mistyped_settings_are_one_line_errors():
    with pytest.raises(UserError, match=r"unknown setting\(s\) epoch"):
        parse_settings(RewardModelSettings, '{"epoch": 3}')
    with pytest.raises(UserError, match="expected an integer"):
        parse_settings(RewardModelSettings, '{"epochs": "3"}')
    with pytest.raises(UserError, match=r"fit: unknown setting\(s\) lrate"):
        parse_settings(NeuralPreprocessSettings, '{"fit": {"lrate": 0.1}}')
    with pytest.raises(UserError, match="'gpu' is not one of"):
        parse_settings(ExpertSettings, '{"device": "gpu"}')


def test_no_rule_helper_or_script_names_a_non_tabular_env():
    envs = yaml.safe_load((REPO_ROOT / "config" / "config.yaml").read_text())["envs"]
    names = {*envs, *(e["id"] for e in envs.values()), *(e.get("title", "") for e in envs.values())} - {""}
    files = [REPO_ROOT / "Snakefile", *sorted((REPO_ROOT / "workflow").rglob("*.smk")),
             *sorted((REPO_ROOT / "workflow").glob("*.py")), *sorted((REPO_ROOT / "scripts").glob("*.py"))]
    for path in files:
        for name in names:
            assert not re.search(re.escape(name), path.read_text(), re.I), f"{path.name} names {name}"


def test_only_rules_that_run_networks_request_gpus(monkeypatch):
    from tests.workflow_runs import workflow_rules

    rules = workflow_rules(REPO_ROOT, monkeypatch)
    requesting = {name for name, rule in rules.items() if "gpu" in rule.resources}
    assert requesting == {"train_expert", "env_reward_model", "preprocess_neural", "preprocess_model"}
