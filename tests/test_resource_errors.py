"""Write failures (disk full, read-only file system, file-size limit) give one line and keep earlier results."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).parents[1] / "scripts" / "maze_ground_truth.py"


def ground_truth(out: Path, maze: str = "maze4", preexec=None) -> subprocess.CompletedProcess:
    """The goal reward of `maze` and its sparse_l1 preprocessing, written under `out` (the grid job's script)."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    settings = {"maze": maze, "rewards": ["goal"], "shapings": ["unshaped"],
                "preprocessing": {"objectives": ["sparse_l1"]}}
    args = ["--settings", json.dumps(settings), "--models-dir", str(out / "models"),
            "--preprocessed-dir", str(out / "preprocessed")]
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          preexec_fn=preexec)


def digest(directory: Path) -> dict[str, str]:
    """Every file below `directory` (hidden temporaries included) with its hash."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def assert_one_line_error(proc: subprocess.CompletedProcess, reason: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and reason in errors[0], proc.stderr


@pytest.fixture
def tiny_fs(tmp_path):
    """A 256 KiB tmpfs (needs root, as in CI containers); skipped where mounting is not allowed."""
    mount = tmp_path / "fs"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(fs: Path, leave: int) -> None:
    stat = os.statvfs(fs)
    free = stat.f_bavail * stat.f_frsize
    with open(fs / "filler", "wb") as f:
        f.write(b"\0" * max(free - leave, 0))


def test_disk_full(tiny_fs):
    earlier = tiny_fs / "results" / "model"
    assert ground_truth(earlier).returncode == 0
    before = digest(earlier)
    _fill(tiny_fs, leave=16 * 1024)
    for out in (tiny_fs / "results" / "other", earlier):  # a new output, and a rerun over the earlier one
        proc = ground_truth(out, maze="maze10")  # its 100x5x100 float64 table needs 400 kB
        assert_one_line_error(proc, "No space left on device")
    assert digest(earlier) == before  # hidden temporaries would show up here too
    assert digest(tiny_fs / "results" / "other") == {}  # the failed new output left no file behind


def test_read_only_file_system(tiny_fs):
    earlier = tiny_fs / "results" / "model"
    assert ground_truth(earlier).returncode == 0
    before = digest(earlier)
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_fs)], check=True)
    proc = ground_truth(earlier, maze="maze10")
    assert_one_line_error(proc, "Read-only file system")
    assert digest(earlier) == before


def test_file_size_limit(tmp_path):
    earlier = tmp_path / "model"
    assert ground_truth(earlier).returncode == 0
    before = digest(earlier)

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))

    proc = ground_truth(earlier, maze="maze10", preexec=limit)
    assert_one_line_error(proc, "File too large")
    assert digest(earlier) == before  # hidden temporaries would show up here too


def test_setup_refuses_a_disk_too_small_for_the_venv(tiny_fs):
    """The install stops at once with one line, not minutes into pip with a half-built venv (here in a folder
    that does not exist yet: the check measures the disk it would be made on)."""
    setup = Path(__file__).parents[1] / "scripts" / "setup_env.sh"
    env = {**os.environ, "RP_VENV": str(tiny_fs / "envs" / "venv")}
    proc = subprocess.run(["bash", str(setup)], capture_output=True, text=True, env=env)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error:") and proc.stderr.count("\n") == 1, proc.stderr
    assert "GB free on its disk" in proc.stderr and "RP_VENV" in proc.stderr
    assert list(tiny_fs.iterdir()) == []
