"""Dependencies point one way: a package imports only packages below it (docs/architecture.md, "Layers").

Every ``import`` statement of every module counts, including those inside
functions (lazy imports) and ``if TYPE_CHECKING:`` blocks: a lazy upward import
is still a cycle in the design, only a hidden one.
"""

from __future__ import annotations

import ast
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

import reward_preprocessing

PACKAGE = "reward_preprocessing"
PACKAGE_DIR = Path(reward_preprocessing.__file__).parent

# Rank of each package; a package may import packages of a lower rank (and itself). Packages of equal
# rank are siblings and may not import each other.
LAYERS: dict[str, int] = {
    "envs": 0,
    "rewards": 1,
    "data": 2,
    "experts": 3,
    "preprocessing": 4,
    "training": 4,
    "plotting": 5,
    "interpret": 6,
}
# Modules directly under the package: importable from every layer, and themselves importing no package.
ROOT_MODULES = frozenset(
    {
        "__init__",
        "errors",
        "artifacts",
        "settings",
        "devices",
        "scaling",
        "shaping",
        "resource_usage",
        "cli",
        "jsonargs",
    }
)


# The one import of a package by the root: `import reward_preprocessing` registers the envs with gymnasium, as
# `import seals` does (issue 12). envs is the bottom layer and imports only root modules, so this adds no cycle.
ROOT_EXCEPTIONS = frozenset({(PACKAGE, "envs")})


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    importer: str
    imported: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.importer} imports {self.imported} ({self.reason})"


def module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(tree: ast.AST, module: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import of this package anywhere in `tree`."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target == PACKAGE or (target.count(".") == 1 and target.split(".")[1] in LAYERS):
                # ``from reward_preprocessing import envs`` / ``from reward_preprocessing.data import rollouts``:
                # the names may be modules themselves.
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, target))
    return [(line, name) for line, name in found if name == PACKAGE or name.startswith(PACKAGE + ".")]


def layer_of(module: str) -> str:
    """The package (``rewards``) of a module, or ``root`` for the modules directly under the package."""
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if len(parts) == 2 and parts[1] not in LAYERS:
        return "root"
    return parts[1]


def check_layers(package_dir: Path) -> tuple[list[Violation], int]:
    """All upward (or sideways, or unknown-layer) imports in the package at `package_dir`, and the module count."""
    violations: list[Violation] = []
    files = sorted(package_dir.rglob("*.py"))
    for path in files:
        module = module_name(path, package_dir)
        rel = str(path.relative_to(package_dir.parent))
        importer_layer = layer_of(module)
        if importer_layer == "root" and path.stem not in ROOT_MODULES:
            violations.append(Violation(rel, 1, module, "-", "a root module not listed in ROOT_MODULES"))
        if importer_layer != "root" and importer_layer not in LAYERS:
            violations.append(Violation(rel, 1, module, "-", "a package without a layer in LAYERS"))
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, target in imported_modules(tree, module, path.name == "__init__.py"):
            target_layer = layer_of(target)
            if target_layer == "root":
                continue  # root modules are importable from everywhere
            if target_layer not in LAYERS:
                violations.append(Violation(rel, line, module, target, "a package without a layer in LAYERS"))
            elif importer_layer == "root" and (module, target_layer) in ROOT_EXCEPTIONS:
                continue
            elif importer_layer == "root":
                violations.append(Violation(rel, line, module, target, "root modules import no package"))
            elif target_layer != importer_layer and LAYERS[target_layer] >= LAYERS[importer_layer]:
                direction = "sideways" if LAYERS[target_layer] == LAYERS[importer_layer] else "upward"
                violations.append(
                    Violation(rel, line, module, target, f"{direction}: {importer_layer} may not import {target_layer}")
                )
    return violations, len(files)


def test_no_upward_imports() -> None:
    violations, scanned = check_layers(PACKAGE_DIR)
    assert scanned > 30, f"only {scanned} modules found under {PACKAGE_DIR}"
    assert not violations, "imports against the layers " + " -> ".join(LAYERS) + ":\n" + "\n".join(
        map(str, violations)
    )


def test_every_package_has_a_layer() -> None:
    packages = {p.parent.name for p in PACKAGE_DIR.glob("*/__init__.py")}
    assert packages <= set(LAYERS), f"packages without a layer: {sorted(packages - set(LAYERS))}"


@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / PACKAGE
    shutil.copytree(PACKAGE_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


INJECTED = {
    "lazy import in a function": "\n\ndef _injected():\n    from reward_preprocessing.plotting import heatmaps\n",
    "TYPE_CHECKING block": (
        "\nfrom typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import reward_preprocessing.experts.store\n"
    ),
    "relative import": "\n\ndef _injected():\n    from ..preprocessing.objectives import OBJECTIVES\n",
    "package attribute": "\n\ndef _injected():\n    from reward_preprocessing import training\n",
}


@pytest.mark.parametrize("kind", INJECTED)
def test_an_injected_upward_import_is_caught(package_copy: Path, kind: str) -> None:
    """The checker must see each way of writing an upward import (so the test above cannot pass vacuously)."""
    assert check_layers(package_copy)[0] == []
    target = package_copy / "rewards" / "shaped.py"
    lines = len(target.read_text().splitlines())
    target.write_text(target.read_text() + INJECTED[kind])
    violations, _ = check_layers(package_copy)
    assert len(violations) == 1, violations
    (v,) = violations
    assert v.path == f"{PACKAGE}/rewards/shaped.py" and v.line > lines and "upward: rewards may not import" in v.reason


def test_a_root_module_importing_a_package_is_caught(package_copy: Path) -> None:
    cli = package_copy / "cli.py"
    cli.write_text(cli.read_text() + "\n\ndef _injected():\n    from reward_preprocessing.envs.maze import REWARDS\n")
    violations, _ = check_layers(package_copy)
    assert [v.reason for v in violations] == ["root modules import no package"]


def test_a_sibling_import_is_caught(package_copy: Path) -> None:
    target = package_copy / "training" / "supervised.py"
    target.write_text(target.read_text() + "\nfrom reward_preprocessing.preprocessing import objectives\n")
    violations, _ = check_layers(package_copy)
    assert [v.reason for v in violations] == ["sideways: training may not import preprocessing"]


def test_downward_imports_pass(package_copy: Path) -> None:
    target = package_copy / "plotting" / "tables.py"
    target.write_text(target.read_text() + "\n\ndef _injected():\n    from reward_preprocessing.envs import maze\n")
    assert check_layers(package_copy)[0] == []
