"""Per-rule run time and peak memory: the usage line every script logs, and its summary per rule."""

from __future__ import annotations

import json
import logging
import shutil

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reward_preprocessing.cli import run
from reward_preprocessing.resource_usage import (
    ResourceUsage,
    UsageRecord,
    format_usage_line,
    measure_self,
    parse_usage_line,
    read_usage_records,
    rules_by_log,
    rules_by_script,
    summarize,
)
from scripts.summarize_benchmarks import main as summarize_main
from tests.workflow_helpers import REPO_ROOT
from tests.workflow_runs import baseline_run

seconds = st.floats(min_value=0, max_value=1e6, allow_nan=False)


@given(script=st.from_regex(r"[a-z_]{1,20}\.py", fullmatch=True), wall=seconds, cpu=seconds, rss=seconds)
def test_usage_line_round_trips_to_its_printed_precision(script, wall, cpu, rss):
    line = "2026-01-01 12:00:00,000 cli: " + format_usage_line(script, ResourceUsage(wall, cpu, rss))
    parsed_script, usage = parse_usage_line(line)
    assert parsed_script == script
    assert usage.wall_s == pytest.approx(wall, abs=1e-3)
    assert usage.cpu_s == pytest.approx(cpu, abs=1e-3)
    assert usage.max_rss_mb == pytest.approx(rss, abs=0.05)


def test_other_lines_are_not_usage_lines():
    assert parse_usage_line("2026-01-01 preprocess_tabular: sparse_l1 = 0.06 with lp in 0.03s") is None


def test_measure_self_sees_this_process():
    usage = measure_self()
    assert usage.wall_s > 0 and usage.cpu_s > 0
    assert usage.max_rss_mb > 10  # a Python interpreter with pytest loaded


def test_cli_run_logs_usage_after_a_successful_main(caplog):
    with caplog.at_level(logging.INFO, logger="cli"):
        run(lambda argv: None, [])
    assert any(parse_usage_line(r.getMessage()) for r in caplog.records)


def test_rules_by_script_maps_the_workflow_scripts_to_their_rules():
    owners = rules_by_script(sorted((REPO_ROOT / "workflow" / "rules").glob("*.smk")))
    assert owners["maze_ground_truth.py"] == ["maze_ground_truth"]
    assert owners["preprocess_tabular.py"] == ["preprocess_tabular", "preprocess_model"]
    assert owners["plot_maze_figures.py"] == ["maze_heatmaps", "heatmap_learned"]
    # The env rules pick their script by the entry's kind (STAGE_SCRIPTS), so their jobs are found through the
    # job records' log paths (`rules_by_log`), not through the shell line.


def test_rules_by_log_reads_snakemake_job_records(tmp_path):
    (tmp_path / "a").write_text(json.dumps({"rule": "heatmap_grid", "log": ["results/logs/heatmaps/m.log"]}))
    (tmp_path / "b").write_text(json.dumps({"rule": "heatmap_main", "log": []}))
    (tmp_path / "c").write_bytes(b"\x00 not a record")
    assert rules_by_log(tmp_path) == {"results/logs/heatmaps/m.log": "heatmap_grid"}


def test_summarize_groups_by_rule_slowest_first():
    records = [
        UsageRecord("a.log", "fast.py", 1.0, 0.5, 100.0),
        UsageRecord("b.log", "slow.py", 4.0, 3.0, 300.0),
        UsageRecord("c.log", "slow.py", 2.0, 1.0, 500.0),
        UsageRecord("d.log", "shared.py", 0.5, 0.5, 50.0),
        UsageRecord("e.log", "shared.py", 0.5, 0.5, 50.0),
    ]
    log_rules = {"e.log": "two"}  # from Snakemake's records: exact
    script_rules = {"fast.py": ["fast_rule"], "slow.py": ["slow_rule"], "shared.py": ["one", "two"]}
    rows = summarize(records, log_rules, script_rules)
    assert [r.rule for r in rows] == ["slow_rule", "fast_rule", "one/two", "two"]
    slow = rows[0]
    assert (slow.jobs, slow.wall_s_total, slow.wall_s_mean, slow.wall_s_max) == (2, 6.0, 3.0, 4.0)
    assert (slow.cpu_s_total, slow.max_rss_mb) == (4.0, 500.0)


def test_summarize_script_writes_table_and_json(tmp_path, capsys):
    logs = tmp_path / "results" / "logs" / "heatmaps"
    logs.mkdir(parents=True)
    usage = format_usage_line("plot_heatmap.py", ResourceUsage(2.5, 2.0, 321.0))
    (logs / "maze4_goal_default.log").write_text("noise\n" + usage)
    (logs / "failed.log").write_text("a log of a run that failed, without a usage line\n")
    metadata = tmp_path / ".snakemake" / "metadata"
    metadata.mkdir(parents=True)
    record = {"rule": "heatmap_grid", "log": ["results/logs/heatmaps/maze4_goal_default.log"]}
    (metadata / "cmVzdWx0cw==").write_text(json.dumps(record))
    shutil.copytree(REPO_ROOT / "workflow" / "rules", tmp_path / "workflow" / "rules")
    out = tmp_path / "summary.json"
    summarize_main(["--workdir", str(tmp_path), "--json", str(out)])
    table = capsys.readouterr().out
    assert "heatmap_grid" in table and "321" in table
    data = json.loads(out.read_text())
    assert [row["rule"] for row in data["rules"]] == ["heatmap_grid"]
    assert len(data["jobs"]) == 1


def test_summarize_script_says_what_is_missing(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        run(summarize_main, ["--workdir", str(tmp_path / "nowhere")])
    assert exc.value.code == 2
    assert "no log directory" in capsys.readouterr().err


@pytest.mark.slow
def test_a_workflow_run_records_usage_for_every_script_rule(tmp_path_factory):
    work = baseline_run(tmp_path_factory).workdir
    log_rules = rules_by_log(work / ".snakemake" / "metadata")
    rows = {row.rule: row for row in summarize(read_usage_records(work), log_rules, {})}
    # The tiny maze4 grid: one batched job writes every model and preprocessed directory, one draws the figures.
    assert rows["maze_ground_truth"].jobs == 1
    assert rows["maze_heatmaps"].jobs == 1
    assert rows["plotly_js"].jobs == 1
    assert all(row.max_rss_mb > 0 for row in rows.values())
