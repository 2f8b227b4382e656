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

#: Modules klue never imports itself, each the whole of an extra's feature:
#: their module-level imports need only be in that extra.
OPTIONAL_MODULES = {"klue/testing.py": "testing"}


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


def requirements() -> dict[str | None, set[str]]:
    """The distributions klue declares, by extra (None: the dependencies)."""
    found: dict[str | None, set[str]] = {}
    for requirement in map(Requirement, importlib.metadata.requires("klue-client-server") or []):
        extra = re.search(r"""extra == ["']([^"']+)["']""", str(requirement.marker or ""))
        found.setdefault(extra and extra.group(1), set()).add(_normal(requirement.name))
    return found


def declared() -> tuple[set[str], set[str]]:
    """The distributions klue depends on, and those its (non-tooling) extras add."""
    by_extra = requirements()
    optional = set().union(*(names for extra, names in by_extra.items() if extra not in TOOLING_EXTRAS | {None}))
    return by_extra.get(None, set()), optional


def _needed_at_import(where: str) -> set[str]:
    """What a module-level import at ``where`` ("file:line") must be declared in."""
    extra = OPTIONAL_MODULES.get(where.rsplit(":", 1)[0])
    return declared()[0] | (requirements().get(extra, set()) if extra else set())


def test_every_package_klue_imports_is_declared():
    providers = importlib.metadata.packages_distributions()
    runtime, optional = declared()
    problems = []
    for module, places in sorted(imported_packages().items()):
        distributions = {_normal(d) for d in providers.get(module, [])}
        eager = [where for where, lazy in places.items() if not lazy and not distributions & _needed_at_import(where)]
        if not distributions:
            problems.append(f"{module} ({', '.join(places)}): no installed distribution provides it")
        elif eager:
            problems.append(f"{module} ({', '.join(eager)}): imported at module level, not in dependencies")
        elif not distributions & (runtime | optional):
            problems.append(f"{module} ({', '.join(places)}): in neither the dependencies nor an extra")
    assert not problems, "\n".join(problems)


def test_the_check_sees_the_imports_it_must():
    found = imported_packages()
    # module-level ones, lazy ones (optional features), and the ones the earlier session declared
    assert {"flask", "werkzeug", "click", "urllib3", "yaml", "jsonschema_rs"} <= set(found)
    assert all(found["gunicorn"].values()) and not all(found["flask"].values())
    assert found["pytest"] == {"klue/testing.py:28": False}


def test_the_testing_plugin_needs_only_its_extra():
    assert "pytest" in requirements()["testing"]
    assert "pytest" not in declared()[0]
