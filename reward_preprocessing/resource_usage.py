"""Wall time, CPU time and peak memory of one script run, as one log line, and their per-rule summary.

Snakemake's `benchmark:` directive cannot be combined with `cache: True` (Snakemake refuses: a result fetched
from the cache has nothing to measure), and every deterministic rule here is cached. So each script measures
itself instead: `reward_preprocessing.cli.run` ends a successful run with a `resource usage:` line on stderr,
which lands in the rule's log (`... 2>&1 | tee {log}`), and `scripts/summarize_benchmarks.py` gathers those
lines per rule, naming each log's rule from Snakemake's own job records.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

USAGE_MARKER = "resource usage:"
_USAGE_RE = re.compile(
    re.escape(USAGE_MARKER) + r" script=(?P<script>\S+) wall_s=(?P<wall>[0-9.]+) cpu_s=(?P<cpu>[0-9.]+)"
    r" max_rss_mb=(?P<rss>[0-9.]+)"
)
_RULE_RE = re.compile(r"^(?:rule|checkpoint) (\w+):", re.MULTILINE)
_SCRIPT_RE = re.compile(r"scripts/(\w+\.py)")


@dataclass(frozen=True)
class ResourceUsage:
    """What one process used: wall seconds since it started, CPU seconds, and peak resident memory."""

    wall_s: float
    cpu_s: float
    max_rss_mb: float


def _process_start_time() -> float | None:
    """Epoch seconds at which this process started (Linux /proc); None where that is not available."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start_ticks = int(fields[19])  # field 22 of stat(5), counted after the command name
        boot_time = next(
            int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime ")
        )
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot_time + start_ticks / os.sysconf("SC_CLK_TCK")


_FALLBACK_START = time.time()


def measure_self() -> ResourceUsage:
    """Usage of this process so far, including children it waited for (peak memory: the larger of the two).

    Wall time counts from process start (so imports count too) where /proc exists, else from this module's
    import.
    """
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = _process_start_time() or _FALLBACK_START
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    max_rss_kb = max(own.ru_maxrss, children.ru_maxrss)  # kilobytes on Linux
    return ResourceUsage(wall_s=max(time.time() - start, 0.0), cpu_s=cpu, max_rss_mb=max_rss_kb / 1024)


def format_usage_line(script: str, usage: ResourceUsage) -> str:
    """The log line `parse_usage_line` reads back."""
    return (
        f"{USAGE_MARKER} script={script} wall_s={usage.wall_s:.3f} cpu_s={usage.cpu_s:.3f}"
        f" max_rss_mb={usage.max_rss_mb:.1f}"
    )


def parse_usage_line(line: str) -> tuple[str, ResourceUsage] | None:
    """The script name and usage of a `resource usage:` line (anywhere in the line), or None."""
    match = _USAGE_RE.search(line)
    if match is None:
        return None
    usage = ResourceUsage(float(match["wall"]), float(match["cpu"]), float(match["rss"]))
    return match["script"], usage


@dataclass(frozen=True)
class UsageRecord:
    """One script run found in a log file."""

    log: str
    script: str
    wall_s: float
    cpu_s: float
    max_rss_mb: float


def read_usage_records(workdir: Path, log_dir: str = "results/logs") -> list[UsageRecord]:
    """Every usage line in `workdir/log_dir/**/*.log`, with log paths relative to `workdir` as Snakemake writes
    them; the last line counts if a log holds several."""
    records = []
    for log in sorted((Path(workdir) / log_dir).rglob("*.log")):
        found = None
        for line in log.read_text(errors="replace").splitlines():
            found = parse_usage_line(line) or found
        if found is not None:
            script, usage = found
            records.append(UsageRecord(log.relative_to(workdir).as_posix(), script, **asdict(usage)))
    return records


def rules_by_log(metadata_dir: Path) -> dict[str, str]:
    """Map each log file to the rule of the job that wrote it, from Snakemake's job records.

    Snakemake keeps one JSON record per output in `.snakemake/metadata` with the job's rule and log files; this
    names the rule exactly, even when two rules run the same script. Unreadable records are skipped.
    """
    logs: dict[str, str] = {}
    for path in sorted(Path(metadata_dir).rglob("*")):
        if not path.is_file():
            continue
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(record, dict) and isinstance(record.get("rule"), str):
            for log in record.get("log") or []:
                logs[os.path.normpath(log)] = record["rule"]
    return logs


def rules_by_script(rule_files: Iterable[Path]) -> dict[str, list[str]]:
    """Map `scripts/<name>.py` to the rules whose command runs it, from the text of Snakemake rule files."""
    owners: dict[str, list[str]] = {}
    for path in rule_files:
        text = Path(path).read_text()
        matches = list(_RULE_RE.finditer(text))
        for i, match in enumerate(matches):
            end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
            for script in sorted(set(_SCRIPT_RE.findall(text[match.end() : end]))):
                owners.setdefault(script, []).append(match.group(1))
    return owners


@dataclass(frozen=True)
class RuleSummary:
    """Usage of all logged runs of one rule."""

    rule: str
    jobs: int
    wall_s_total: float
    wall_s_mean: float
    wall_s_max: float
    cpu_s_total: float
    max_rss_mb: float


def summarize(
    records: Iterable[UsageRecord], log_rules: dict[str, str], script_rules: dict[str, list[str]]
) -> list[RuleSummary]:
    """Per-rule totals, means and maxima, slowest rule first.

    A log's rule comes from `log_rules` (`rules_by_log`); failing that, from the rules that run its script
    (`rules_by_script`, all of them if several do), failing that, the script's name.
    """
    groups: dict[str, list[UsageRecord]] = {}
    for record in records:
        rule = log_rules.get(os.path.normpath(record.log)) or "/".join(script_rules.get(record.script, []))
        groups.setdefault(rule or record.script, []).append(record)
    summaries = [
        RuleSummary(
            rule=rule,
            jobs=len(group),
            wall_s_total=sum(r.wall_s for r in group),
            wall_s_mean=statistics.fmean(r.wall_s for r in group),
            wall_s_max=max(r.wall_s for r in group),
            cpu_s_total=sum(r.cpu_s for r in group),
            max_rss_mb=max(r.max_rss_mb for r in group),
        )
        for rule, group in groups.items()
    ]
    return sorted(summaries, key=lambda s: (-s.wall_s_total, s.rule))
