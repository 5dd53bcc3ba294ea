"""The Snakemake report: every figure of the default targets, with a caption, under a category per stage."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.workflow_helpers import REPO_ROOT
from tests.workflow_runs import TINY_TARGETS, baseline_run, clone, snakemake, workflow_rules


def report_flag(rules: dict, target: str):
    """The report() flag of the output that makes `target`, from the one rule (bar the catch-all) producing it."""
    producers = [r for name, r in rules.items() if name != "unknown_target" and r.is_producer(target)]
    assert len(producers) == 1, f"{target}: produced by {[r.name for r in producers]}"
    (rule,) = producers
    for item in rule.output:
        if item.regex().match(target):
            return rule.name, item.flags.get("report")
    raise AssertionError(f"{target}: no output of {rule.name} matches")


def test_every_default_figure_is_flagged_for_the_report(monkeypatch):
    rules = workflow_rules(REPO_ROOT, monkeypatch)
    figures = [f for f in rules["all"].input if f.endswith(".png")]
    assert "results/heatmaps/maze10.png" in figures
    for figure in figures:
        rule, flag = report_flag(rules, figure)
        assert flag is not None, f"{figure} ({rule}) is not marked report(...)"
        assert flag.caption and Path(flag.caption).is_file(), f"{figure} ({rule}): caption {flag.caption}"
        assert flag.category, f"{figure} ({rule}) has no category"


@pytest.mark.slow
def test_report_holds_every_figure_with_caption_and_category(tmp_path, tmp_path_factory):
    work = clone(baseline_run(tmp_path_factory), tmp_path / "work")
    snakemake(work, "--report", "results/report.html", *TINY_TARGETS)
    html = (work / "results" / "report.html").read_text()
    figures = [t for t in TINY_TARGETS if t.endswith(".png")]
    for figure in figures:  # embedded byte for byte
        assert base64.b64encode((work / figure).read_bytes()).decode() in html, f"{figure} not in the report"
    for text in ("Main figures", "Maze heatmaps", "Rewards of <strong>maze4</strong>", "collapse back to the sparse"):
        assert text in html, text
