"""Every package klue imports is one it declares (pyproject.toml, as installed):
a module-level import in the dependencies, a lazy one (inside a function) in
them or in an extra that says what it is for. A package that only arrives
through another one's dependencies would break the day that one drops it."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys

from packaging.requirements import Requirement

from tests.conftest import REPO_ROOT

#: Extras for working on klue, never what klue's own code may import.
TOOLING_EXTRAS = {"test", "lint", "bench"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_packages() -> dict[str, dict[str, bool]]:
    """Each third-party top-level module klue imports: {module: {"file:line": lazy}}."""
    found: dict[str, dict[str, bool]] = {}
    for path in sorted((REPO_ROOT / "klue").rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        lazy_nodes = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                      for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top != "klue" and top not in sys.stdlib_module_names:
                    where = f"{path.relative_to(REPO_ROOT)}:{node.lineno}"
                    found.setdefault(top, {})[where] = id(node) in lazy_nodes
    return found


def declared() -> tuple[set[str], set[str]]:
    """The distributions klue depends on, and those its (non-tooling) extras add."""
    runtime, optional = set(), set()
    for requirement in map(Requirement, importlib.metadata.requires("klue-client-server") or []):
        marker = str(requirement.marker or "")
        extra = re.search(r"""extra == ["']([^"']+)["']""", marker)
        if extra is None:
            runtime.add(_normal(requirement.name))
        elif extra.group(1) not in TOOLING_EXTRAS:
            optional.add(_normal(requirement.name))
    return runtime, optional


def test_every_package_klue_imports_is_declared():
    providers = importlib.metadata.packages_distributions()
    runtime, optional = declared()
    problems = []
    for module, places in sorted(imported_packages().items()):
        distributions = {_normal(d) for d in providers.get(module, [])}
        eager = [where for where, lazy in places.items() if not lazy]
        if not distributions:
            problems.append(f"{module} ({', '.join(places)}): no installed distribution provides it")
        elif eager and not distributions & runtime:
            problems.append(f"{module} ({', '.join(eager)}): imported at module level, not in dependencies")
        elif not distributions & (runtime | optional):
            problems.append(f"{module} ({', '.join(places)}): in neither the dependencies nor an extra")
    assert not problems, "\n".join(problems)


def test_the_check_sees_the_imports_it_must():
    found = imported_packages()
    # module-level ones, lazy ones (optional features), and the ones the earlier session declared
    assert {"flask", "werkzeug", "click", "urllib3", "yaml", "jsonschema_rs"} <= set(found)
    assert all(found["gunicorn"].values()) and not all(found["flask"].values())
