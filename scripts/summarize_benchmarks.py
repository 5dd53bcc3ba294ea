"""Summarize per-rule run time and peak memory from the `resource usage:` lines in the workflow's logs.

Every script ends its log with such a line (reward_preprocessing.cli.run); jobs taken from the output cache
ran nothing and leave none. Each log's rule comes from Snakemake's job records (.snakemake/metadata). Prints one
table row per rule and optionally writes the rows and every job as JSON.

Example:
    python scripts/summarize_benchmarks.py --json results/benchmarks/summary.json
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from reward_preprocessing.artifacts import write_json
from reward_preprocessing.cli import run
from reward_preprocessing.errors import UserError
from reward_preprocessing.resource_usage import read_usage_records, rules_by_log, rules_by_script, summarize

COLUMNS = (
    ("rule", "rule", "{}"),
    ("jobs", "jobs", "{}"),
    ("wall_s_total", "wall s (sum)", "{:.1f}"),
    ("wall_s_mean", "wall s (mean)", "{:.2f}"),
    ("wall_s_max", "wall s (max)", "{:.2f}"),
    ("cpu_s_total", "cpu s (sum)", "{:.1f}"),
    ("max_rss_mb", "peak MB", "{:.0f}"),
)


def format_table(rows: list[dict]) -> str:
    """A plain-text table, one line per rule, numbers right-aligned."""
    cells = [[title for _, title, _ in COLUMNS]]
    cells += [[fmt.format(row[key]) for key, _, fmt in COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", default=".", help="the workflow's directory (results/logs, .snakemake)")
    parser.add_argument("--json", default=None, help="also write the summary and every job here")
    args = parser.parse_args(argv)

    workdir = Path(args.workdir)
    logs, rules = workdir / "results" / "logs", workdir / "workflow" / "rules"
    if not logs.is_dir():
        raise UserError(f"no log directory {logs}; run the workflow first (or pass --workdir)")
    records = read_usage_records(workdir)
    if not records:
        raise UserError(f"no 'resource usage:' lines in {logs}/**/*.log; were all jobs taken from the cache?")
    log_rules = rules_by_log(workdir / ".snakemake" / "metadata")
    script_rules = rules_by_script(sorted(rules.glob("*.smk")))
    rows = [asdict(s) for s in summarize(records, log_rules, script_rules)]
    print(format_table(rows))
    if args.json:
        write_json(args.json, {"rules": rows, "jobs": [asdict(r) for r in records]})


if __name__ == "__main__":
    run(main)
