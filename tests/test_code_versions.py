"""Rule code versions come from each script's import closure: complete, and exactly what reruns a rule."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workflow_helpers import REPO_ROOT
from tests.workflow_runs import TINY_TARGETS, baseline_run, clone, planned_jobs, snakemake

sys.path.insert(0, str(REPO_ROOT / "workflow"))
from code_closure import import_closure, script_code_version

RULE_FILES = sorted((REPO_ROOT / "workflow" / "rules").glob("*.smk"))
LIBRARY = sorted(p for p in (REPO_ROOT / "reward_preprocessing").rglob("*.py") if "__pycache__" not in p.parts)
# The rules of TINY_TARGETS, their scripts, and what each feeds.
TINY_RULES = {"maze_ground_truth": "maze_ground_truth.py", "maze_heatmaps": "plot_maze_figures.py",
              "plotly_js": "write_plotlyjs.py"}
DOWNSTREAM = {"maze_ground_truth": {"maze_heatmaps"}, "plotly_js": {"maze_heatmaps"}, "maze_heatmaps": set()}


def dry_run(work: Path) -> dict[str, int]:
    proc = snakemake(work, "-n", *TINY_TARGETS)
    return planned_jobs(proc.stdout + proc.stderr)


def workflow_scripts() -> list[str]:
    """Every script a rule runs (`python scripts/x.py` in its shell command)."""
    text = "\n".join(p.read_text() for p in RULE_FILES)
    return sorted(set(re.findall(r"python (scripts/\w+\.py)", text)))


def runtime_modules(script: str) -> set[Path]:
    """Files of the package that importing `script` (without running its main) actually loads."""
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('script_under_test', {script!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "print(json.dumps(sorted(getattr(m, '__file__', None) or '' for n, m in sys.modules.items()\n"
        "                        if n == 'reward_preprocessing' or n.startswith('reward_preprocessing.'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True,
                          env={"PYTHONPATH": str(REPO_ROOT), "PATH": ""})
    return {Path(f).resolve() for f in json.loads(proc.stdout.splitlines()[-1]) if f}


def test_every_rule_script_is_versioned_by_its_closure():
    text = "\n".join(p.read_text() for p in RULE_FILES)
    for script in workflow_scripts():
        assert f'code_version("{script}")' in text, f"a rule runs {script} without its code version"


@pytest.mark.slow
@pytest.mark.parametrize("script", workflow_scripts())
def test_closure_holds_every_module_the_script_loads(script):
    """Parsing finds at least what Python really imports (it also finds imports inside functions)."""
    static = set(import_closure(REPO_ROOT, script))
    loaded = runtime_modules(script)
    assert loaded, script
    assert loaded <= static, f"{script}: modules loaded but not hashed: {sorted(map(str, loaded - static))}"


def test_closure_follows_relative_imports_and_parent_packages(tmp_path):
    pkg = tmp_path / "reward_preprocessing"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from . import leaf\n")
    (pkg / "sub" / "leaf.py").write_text("def f():\n    from ..other import g\n")
    (pkg / "other.py").write_text("import os\n")
    (pkg / "unused.py").write_text("")
    (tmp_path / "script.py").write_text("from reward_preprocessing.sub import leaf\n")
    names = {p.relative_to(tmp_path).as_posix() for p in import_closure(tmp_path, "script.py")}
    assert names == {"reward_preprocessing/__init__.py", "reward_preprocessing/sub/__init__.py",
                     "reward_preprocessing/sub/leaf.py", "reward_preprocessing/other.py"}
    before = script_code_version(tmp_path, "script.py")
    (pkg / "unused.py").write_text("# edited\n")
    assert script_code_version(tmp_path, "script.py") == before
    (pkg / "other.py").write_text("import os  # edited\n")
    assert script_code_version(tmp_path, "script.py") != before


@pytest.mark.slow
def test_editing_each_module_reruns_exactly_the_rules_that_import_it(tmp_path, tmp_path_factory):
    """Every library module, edited in turn in one scratch copy of a finished tiny run: the dry run plans the
    rules whose scripts import it, their descendants, and nothing else."""
    work = clone(baseline_run(tmp_path_factory), tmp_path / "work")
    closures = {rule: set(import_closure(REPO_ROOT, f"scripts/{script}")) for rule, script in TINY_RULES.items()}
    mismatches = {}
    for module in LIBRARY:
        direct = {rule for rule, closure in closures.items() if module in closure}
        expected = direct | {d for rule in direct for d in DOWNSTREAM[rule]}
        path = work / module.relative_to(REPO_ROOT)
        original = path.read_text()
        path.write_text(original + "\n# an edit\n")
        try:
            planned = dry_run(work)
        finally:
            path.write_text(original)
        if set(planned) != expected:
            mismatches[module.relative_to(REPO_ROOT).as_posix()] = (sorted(planned), sorted(expected))
    assert not mismatches, mismatches
    assert dry_run(work) == {}
