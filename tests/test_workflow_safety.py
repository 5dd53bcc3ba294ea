"""The workflow keeps its data safe: SIGKILL mid-job and mid-write, a second workflow, a shared output cache.

Every test runs the tiny maze grid (tests/workflow_runs.py) in throw-away copies of the repository and
compares the complete results, byte for byte, with an uninterrupted run.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from reward_preprocessing.artifacts import HOLD_ENV
from tests.safety_helpers import fresh, stable_digests
from tests.workflow_runs import TINY_TARGETS, baseline_run, copy_with_profiles, snakemake

pytestmark = pytest.mark.slow
TEMPORARY = re.compile(r"~\d+~tmp")


def start(workdir: Path, env_extra: dict[str, str] | None = None, cache: Path | None = None) -> subprocess.Popen:
    """Start snakemake on the tiny targets in its own process group (so that a kill takes its jobs too)."""
    env = {k: v for k, v in os.environ.items() if k != "SNAKEMAKE_OUTPUT_CACHE"}
    env["PYTHONPATH"] = str(workdir)
    if cache is not None:
        env["SNAKEMAKE_OUTPUT_CACHE"] = str(cache)
    env.update(env_extra or {})
    log = open(workdir / f"run{time.monotonic_ns()}.log", "w")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen([str(Path(sys.executable).with_name("snakemake")), "--cores", "2", *TINY_TARGETS],
                            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_for(condition: Callable[[], bool], proc: subprocess.Popen, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, "the run ended before the moment to kill it"
        assert time.monotonic() < deadline, "timed out waiting for the moment to kill the run"
        time.sleep(0.05)


def kill(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def temporaries(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if TEMPORARY.search(p.name)]


def finished_outputs(workdir: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of every complete output file, through the cache's symlinks, by results-relative path."""
    found = {}
    for root, _, files in os.walk(workdir / "results", followlinks=True):
        for name in files:
            path = Path(root, name)
            if not TEMPORARY.search(str(path)) and not path.relative_to(workdir).as_posix().startswith("results/logs"):
                stat = path.stat()
                found[path.relative_to(workdir).as_posix()] = (stat.st_ino, stat.st_mtime_ns)
    return found


def jobs_finished(workdir: Path) -> int:
    return sum(p.read_text().count("Finished jobid") for p in workdir.glob("run*.log"))


def outputs_of_finished_jobs(workdir: Path) -> list[str]:
    """The declared outputs of the jobs the run's log reports as finished."""
    text = "".join(p.read_text() for p in workdir.glob("run*.log"))
    outputs = {
        m[2]: [o.strip() for o in m[1].split(",")]
        for m in re.finditer(r"^\s+output: (.+)$\n(?:^\s+\w+: .*$\n)*?^\s+jobid: (\d+)$", text, re.M)
    }
    done = re.findall(r"Finished jobid: (\d+)", text)
    return [o for jobid in done for o in outputs[jobid]]


def rerun_after_kill(workdir: Path) -> str:
    """What a user does after a kill: the run refuses (stale lock), `--unlock`, run again."""
    refused = snakemake(workdir, *TINY_TARGETS, check=False)
    assert refused.returncode != 0 and "--unlock" in refused.stdout + refused.stderr
    snakemake(workdir, "--unlock", *TINY_TARGETS)
    proc = snakemake(workdir, *TINY_TARGETS)
    return proc.stdout + proc.stderr


def test_sigkill_mid_job_then_rerun(tmp_path, tmp_path_factory):
    expected = stable_digests(baseline_run(tmp_path_factory).workdir / "results")[0]
    work = copy_with_profiles(fresh(tmp_path / "w"))
    proc = start(work)
    # The tiny grid is three jobs (plotly.js and the batched maze job at once, then the heatmaps): kill as soon as
    # one has finished, while another runs.
    wait_for(lambda: jobs_finished(work) >= 1, proc)
    kill(proc)
    finished = outputs_of_finished_jobs(work)
    before = {k: v for k, v in finished_outputs(work).items() if any(k == o or k.startswith(o + "/") for o in finished)}
    assert before, "nothing had finished before the kill"
    rerun_after_kill(work)
    after = finished_outputs(work)
    # Nothing finished before the kill was recomputed or lost: same files, same inodes, same times.
    assert {k: after.get(k) for k in before} == before
    assert stable_digests(work / "results")[0] == expected
    assert temporaries(work / "results", work / ".cache") == []


def test_sigkill_mid_write_leaves_no_partial_output(tmp_path, tmp_path_factory):
    expected = stable_digests(baseline_run(tmp_path_factory).workdir / "results")[0]
    work = copy_with_profiles(fresh(tmp_path / "w"))
    # Every artifact is held complete under its temporary name for 30 s before the rename: kill in between.
    proc = start(work, {HOLD_ENV: "30"})
    wait_for(lambda: bool(temporaries(work / "results")), proc)
    time.sleep(0.5)
    kill(proc)
    left = temporaries(work / "results")
    assert left, "the kill should have left the held temporary behind"
    for tmp in left:  # its final name was never created: no partial output can pass for a finished one
        final = tmp.with_name(TEMPORARY.split(tmp.name)[0].removeprefix(".").rsplit(".", 1)[0])
        assert not final.exists(), final
    out = rerun_after_kill(work)
    assert "removed a temporary left by a killed job" in out or not temporaries(work / "results")
    assert temporaries(work / "results", work / ".cache") == []
    assert stable_digests(work / "results")[0] == expected


def test_second_workflow_on_the_same_directory_refuses(tmp_path, tmp_path_factory):
    expected = stable_digests(baseline_run(tmp_path_factory).workdir / "results")[0]
    work = copy_with_profiles(fresh(tmp_path / "w"))
    first = start(work, {HOLD_ENV: "3"})
    wait_for(lambda: (work / ".snakemake" / "locks").is_dir() and any((work / ".snakemake" / "locks").iterdir()),
             first)
    second = snakemake(work, *TINY_TARGETS, check=False)
    assert second.returncode != 0
    assert "cannot be locked" in second.stdout + second.stderr
    assert first.wait(timeout=900) == 0
    assert stable_digests(work / "results")[0] == expected


def test_checkouts_sharing_one_cache_never_corrupt_entries(tmp_path, tmp_path_factory):
    """Two checkouts run the same targets at once against one cache: no nested or missing entry."""
    expected = stable_digests(baseline_run(tmp_path_factory).workdir / "results")[0]
    cache = tmp_path / "shared_cache"
    cache.mkdir()
    works = [copy_with_profiles(fresh(tmp_path / name)) for name in ("a", "b")]
    procs = [start(work, cache=cache) for work in works]
    for proc in procs:
        assert proc.wait(timeout=900) == 0
    entries = sorted(p for p in cache.iterdir())
    nested = [p for p in entries if p.is_dir() and (p / p.name).exists()]
    assert nested == [], f"nested cache entries: {nested}"
    assert temporaries(cache) == []
    for work in works:
        assert stable_digests(work / "results")[0] == expected
    # and a third checkout fetches every entry intact
    third = copy_with_profiles(fresh(tmp_path / "c"))
    proc = start(third, cache=cache)
    assert proc.wait(timeout=900) == 0
    assert stable_digests(third / "results")[0] == expected
