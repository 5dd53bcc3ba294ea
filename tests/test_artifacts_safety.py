"""Temporaries of killed writers are recognised and removed; cache entries are published without replacing."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

from reward_preprocessing.artifacts import (
    atomic_path,
    is_stale_temporary,
    publish_noreplace,
    remove_stale_temporaries,
    temporary_prefix,
)


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(proc.stdout)


def _temporary_of(pid: int, final: Path, suffix: str = ".png") -> Path:
    return final.with_name(temporary_prefix(final).replace(f"~{os.getpid()}~", f"~{pid}~") + "abc123" + suffix)


def test_only_temporaries_of_dead_writers_on_this_host_are_stale(tmp_path):
    final = tmp_path / "maze10_goal_default.png"
    dead = _temporary_of(_dead_pid(), final)
    alive = _temporary_of(os.getpid(), final)
    other_host = tmp_path / ".maze10.png.otherhost~1~tmpabc.png"
    for p in (dead, alive, other_host, final):
        p.write_text("x")
    assert is_stale_temporary(dead) and not is_stale_temporary(alive)
    assert not is_stale_temporary(other_host) and not is_stale_temporary(final)
    stale_dir = _temporary_of(_dead_pid(), tmp_path / "sub" / "smooth_log", suffix="")
    stale_dir.mkdir(parents=True)
    (stale_dir / "model.safetensors").write_text("partial")
    removed = remove_stale_temporaries(tmp_path)
    assert set(removed) == {dead, stale_dir}
    assert alive.exists() and other_host.exists() and final.exists()


def test_atomic_writes_clear_stale_siblings_and_leave_nothing_on_failure(tmp_path):
    final = tmp_path / "figure.png"
    dead = _temporary_of(_dead_pid(), final)
    dead.write_text("left by a killed job")
    try:
        with atomic_path(final) as tmp:
            assert not dead.exists()  # cleared at the start of the write
            tmp.write_text("half")
            raise RuntimeError("killed")
    except RuntimeError:
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_snakemake_style_move_nests_but_publish_refuses(tmp_path):
    """The cause of nested cache entries: shutil.move onto an existing directory moves *into* it."""
    entry = tmp_path / "cache" / "abc"
    (entry).mkdir(parents=True)
    (entry / "model.safetensors").write_text("first")
    staged = tmp_path / "staging" / "abc"
    staged.mkdir(parents=True)
    (staged / "model.safetensors").write_text("second")
    nested = shutil.copytree(staged, tmp_path / "staging2" / "abc")
    shutil.move(nested, entry)
    assert (entry / "abc" / "model.safetensors").exists()  # Snakemake's store: the nested copy
    shutil.rmtree(entry / "abc")
    assert publish_noreplace(staged, entry) is False  # ours: refused, entry untouched
    assert sorted(p.name for p in entry.iterdir()) == ["model.safetensors"]
    assert (entry / "model.safetensors").read_text() == "first"
    file_entry = tmp_path / "cache" / "def.png"
    file_entry.write_text("first")
    staged_file = tmp_path / "staging" / "def.png"
    staged_file.write_text("second")
    assert publish_noreplace(staged_file, file_entry) is False and file_entry.read_text() == "first"
    fresh = tmp_path / "cache" / "ghi"
    assert publish_noreplace(staged, fresh) is True and (fresh / "model.safetensors").read_text() == "second"


def _race(args: tuple[str, int]) -> bool:
    root, i = Path(args[0]), args[1]
    staged = root / f"staging{i}" / "entry"
    staged.mkdir(parents=True)
    for k in range(20):
        (staged / f"f{k}").write_text(str(i))
    return publish_noreplace(staged, root / "entry")


def test_concurrent_publishers_one_wins_and_nothing_nests(tmp_path):
    with multiprocessing.get_context("fork").Pool(8) as pool:
        wins = pool.map(_race, [(str(tmp_path), i) for i in range(16)])
    assert sum(wins) == 1
    entry = tmp_path / "entry"
    contents = {p.read_text() for p in entry.iterdir()}
    assert len(contents) == 1 and sorted(p.name for p in entry.iterdir()) == sorted(f"f{k}" for k in range(20))

