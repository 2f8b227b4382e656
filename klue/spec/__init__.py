"""Loading specs: files or strings in, a version-neutral ``Spec`` out.

``load_spec`` reads and bundles the document, then hands it to the module
of its version. Nothing here imports Flask or requests.
"""

from __future__ import annotations

from typing import Any

from ..exceptions import SpecError
from . import openapi3, swagger2
from .interface import Body, Operation, Parameter, ResponseSpec, Spec
from .loader import gc_paused, load_document, pointer_join


def _version_module(doc: dict[str, Any]) -> Any:
    if "swagger" in doc:
        return swagger2
    if "openapi" in doc:
        return openapi3
    return None


def _schema_section(doc: dict[str, Any]) -> tuple[str, ...]:
    module = _version_module(doc)
    return module.schema_section(doc) if module else ("definitions",)


def named_schema_pointer(document: dict[str, Any], name: str) -> str:
    """Where named schema ``name`` is: ``/definitions/Pet``, ``/components/schemas/Pet``."""
    return pointer_join("", *_schema_section(document), name)


def load_spec(
    *, yaml_path: str | None = None, yaml_str: str | None = None, spec_dict: dict[str, Any] | None = None
) -> Spec:
    """Load one spec from exactly one source; raises ``SpecError`` listing every problem."""
    with gc_paused():
        return _load_spec(yaml_path, yaml_str, spec_dict)


def _load_spec(yaml_path: str | None, yaml_str: str | None, spec_dict: dict[str, Any] | None) -> Spec:
    doc, source, problems = load_document(
        yaml_path=yaml_path, yaml_str=yaml_str, spec_dict=spec_dict, schema_section=_schema_section
    )
    module = _version_module(doc)
    if module is None:
        if problems:
            raise SpecError(problems)
        raise SpecError.single(source, "", "not a spec: no 'swagger: \"2.0\"' or 'openapi: 3.x' key at the top")
    spec: Spec = module.build_spec(doc, source, problems)
    return spec


__all__ = ["Body", "Operation", "Parameter", "ResponseSpec", "Spec", "gc_paused", "load_spec", "named_schema_pointer"]
