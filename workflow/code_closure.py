"""The library code a script runs: its import closure within `reward_preprocessing`, found by parsing, not running.

A rule's `code` param is the hash of its script and of every module of the package that the script imports,
directly or through other modules (imports inside functions count too, and importing ``a.b.c`` also runs
``a/__init__.py`` and ``a/b/__init__.py``). Editing any of them changes the param, so Snakemake reruns the rule
and everything downstream, and nothing else.
"""

from __future__ import annotations

import ast
import hashlib
from functools import cache
from pathlib import Path

PACKAGE = "reward_preprocessing"


def _module_file(root: Path, module: str) -> Path | None:
    """The file of a dotted module name under `root` (a package's ``__init__.py``), or None."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_names(path: Path, module: str | None) -> set[str]:
    """Dotted names the file imports (``from a import b`` yields ``a`` and ``a.b``: b may be a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative import: resolve against this module's package
                if module is None:
                    continue
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, node.module] if node.module else package)
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return {n for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")}


def _with_parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


@cache
def _closure(root: Path, script: Path) -> tuple[Path, ...]:
    seen: dict[Path, None] = {}
    todo = [(script, None)]
    while todo:
        path, module = todo.pop()
        for name in _imported_names(path, module):
            for candidate in _with_parents(name):
                found = _module_file(root, candidate)
                if found is not None and found not in seen:
                    seen[found] = None
                    todo.append((found, _module_name(root, found)))
    return tuple(sorted(seen))


def import_closure(root: Path, script: str | Path) -> list[Path]:
    """Every file of the package that `script` (relative to `root`) imports, directly or not, sorted."""
    root = Path(root).resolve()
    return list(_closure(root, (root / script).resolve()))


def script_code_version(root: Path, script: str | Path) -> str:
    """16 hex digits of sha256 over the script and its import closure (paths and contents)."""
    root = Path(root).resolve()
    digest = hashlib.sha256()
    for path in [(root / script).resolve(), *import_closure(root, script)]:
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]
