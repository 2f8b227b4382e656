"""Checking that the Python code a spec names imports: ``klue validate --check-bindings``.

Loading a spec never runs the code it names; serving it imports every
``x-bind-server``, ``x-decorate-server``, ``x-bind-security`` and
``x-persist`` target, and calling it every ``x-decorate-request``. This
imports them all and reports each one that fails as a ``SpecProblem``
(file, operation or definition, JSON pointer), not just the first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .exceptions import BindingError, SpecProblem
from .importing import import_object
from .models import Persistence
from .spec import named_schema_pointer
from .spec.builder import named
from .spec.loader import pointer_join, resolve_pointer
from .spec.security import CONNEXION_BINDINGS

if TYPE_CHECKING:
    from .api import API


def binding_problems(api: API) -> list[SpecProblem]:
    """Every binding of ``api``'s spec that does not import (or is not callable)."""
    spec = api.spec
    problems: list[SpecProblem] = []

    def check(dotted: str | None, key: str, pointer: str, owner: str) -> None:
        if not dotted:
            return
        reason = _import_failure(dotted, key)
        if reason:
            problems.append(SpecProblem(spec.source, pointer_join(pointer, key), reason, owner))

    for op in spec.operations:
        b = op.bindings
        for dotted, key in (
            (b.server, "x-bind-server"),
            (b.decorate_server, "x-decorate-server"),
            (b.decorate_request, "x-decorate-request"),
        ):
            check(dotted, key, op.pointer, op.label)
    for scheme in spec.security_schemes.values():
        owner = named("security scheme", scheme.name)
        check(scheme.binding, "x-bind-security", scheme.pointer, owner)
        if scheme.connexion_binding:
            raw = _node(spec.document, scheme.pointer)
            key = next((k for k in CONNEXION_BINDINGS[scheme.kind] if k in raw), CONNEXION_BINDINGS[scheme.kind][0])
            check(scheme.connexion_binding, key, scheme.pointer, owner)
    for name, dotted in spec.persisted_models.items():
        at = pointer_join(named_schema_pointer(spec.document, name), "x-persist")
        try:
            model = getattr(api.model, name) if name in api.model else type(name, (), {})  # not an object: no class
            Persistence.inject(model, dotted, name)
        except BindingError as e:
            prefix = f"x-persist of definition '{name}': "
            reason = str(e).removeprefix(prefix)
            problems.append(SpecProblem(spec.source, at, reason, named("definition", name)))
    return problems


def _import_failure(dotted: str, key: str) -> str:
    """Why ``dotted`` cannot be bound ('' when it can): it does not import, or is not callable."""
    try:
        target = import_object(dotted, what=key)
    except BindingError as e:
        return str(e).removeprefix(f"{key}: ")
    except Exception as e:  # pragma: no cover - import_object turns import failures into BindingError
        return f"importing {dotted!r} failed: {type(e).__name__}: {e}"
    if not callable(target):
        return f"{dotted} is not callable"
    return ""


def _node(document: dict[str, Any], pointer: str) -> dict[str, Any]:
    try:
        node = resolve_pointer(document, pointer)
    except KeyError:
        return {}
    return node if isinstance(node, dict) else {}
