"""Model classes: bravado-core classes built from a spec's definitions.

``api.model.Pet(name="Rex")`` is a ``bravado_core.model.Model`` subclass
named after its definition. A definition with ``x-persist: pkg.mod.Class``
gets ``load_from_db`` (on the class) and ``save_to_db`` (on instances) that
forward to ``Class``.

bravado-core is imported and called through ``klue.spec.bravado``, which
filters the DeprecationWarnings jsonschema raises for it.
"""
from __future__ import annotations

from typing import Any, Iterator

from .exceptions import BindingError
from .importing import import_object
from .spec.bravado import BravadoSpec, create_model_type, is_object, quiet_bravado
from .spec.loader import escape_pointer_token


def build_model_classes(definitions: dict[str, Any], context: dict[str, Any] | None = None,
                        user_formats: Any = ()) -> dict[str, type]:
    """Return {definition name: model class} for the object definitions of a spec.

    ``context`` holds the other sections the definitions may refer into."""
    if not definitions:
        return {}
    with quiet_bravado():
        document = {
            **_for_bravado(context or {}),
            "swagger": "2.0",
            "info": {"title": "models", "version": "0"},
            "paths": {},
            "definitions": {name: {**_for_bravado(schema), "x-model": name} if isinstance(schema, dict) else schema
                            for name, schema in definitions.items()},
        }
        config = {
            "validate_swagger_spec": False,
            "validate_requests": False,
            "validate_responses": False,
            "use_models": True,
            "formats": list(user_formats or ()),
            "include_missing_properties": True,
        }
        # What bravado-core's model discovery ends with, without its walk over
        # the whole document (seconds on Stripe's spec): a class per object definition.
        bravado_spec = BravadoSpec(document, config=config)
        for name, schema in document["definitions"].items():
            if isinstance(schema, dict) and is_object(bravado_spec, schema):
                bravado_spec.definitions[name] = create_model_type(
                    bravado_spec, name, schema, json_reference="#/definitions/" + escape_pointer_token(name))
    return dict(bravado_spec.definitions)


_KEPT_EXTENSIONS = ("x-nullable",)


def _for_bravado(node: Any) -> Any:
    """A copy bravado-core can build models from. It names a model after its
    ``title`` (and fails on two inline objects with one title), and follows
    refs inside ``x-`` extensions: so titles and extensions go, and each
    definition is named by its key (``x-model``)."""
    if isinstance(node, list):
        return [_for_bravado(v) for v in node]
    if not isinstance(node, dict):
        return node
    return {k: _for_bravado(v) for k, v in node.items()
            if k != "title" and (not k.startswith("x-") or k in _KEPT_EXTENSIONS)}


class Persistence:
    """The two methods that ``x-persist`` injects into a model class."""

    @staticmethod
    def inject(model: type, dotted_path: str, definition: str) -> None:
        target = import_object(dotted_path, what=f"x-persist of definition '{definition}'")
        missing = [m for m in ("load_from_db", "save_to_db") if not callable(getattr(target, m, None))]
        if missing:
            raise BindingError(
                f"x-persist of definition '{definition}': {dotted_path} has no static method "
                + " or ".join(f"'{m}'" for m in missing)
            )

        def load_from_db(*args: Any, **kwargs: Any) -> Any:
            return target.load_from_db(*args, **kwargs)

        def save_to_db(self: Any, *args: Any, **kwargs: Any) -> Any:
            return target.save_to_db(self, *args, **kwargs)

        load_from_db.__doc__ = f"Load {definition} objects through {dotted_path}.load_from_db."
        save_to_db.__doc__ = f"Store this {definition} through {dotted_path}.save_to_db."
        type.__setattr__(model, "load_from_db", staticmethod(load_from_db))
        type.__setattr__(model, "save_to_db", save_to_db)
        type.__setattr__(model, "_klue_persist", dotted_path)


class ModelNamespace:
    """``api.model``: one attribute per model class."""

    def __init__(self, api_name: str, classes: dict[str, type]) -> None:
        self._api_name = api_name
        self._classes = dict(classes)

    def __getattr__(self, name: str) -> type:
        try:
            return self._classes[name]
        except KeyError:
            known = ", ".join(sorted(self._classes)) or "none"
            raise AttributeError(f"API '{self._api_name}' has no model '{name}' (models: {known})") from None

    def __contains__(self, name: object) -> bool:
        return name in self._classes

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._classes))

    def __dir__(self) -> list[str]:
        return sorted(self._classes)

    def _replace(self, name: str, cls: type) -> None:
        self._classes[name] = cls

    def __repr__(self) -> str:
        return f"<models of API '{self._api_name}': {', '.join(sorted(self._classes))}>"
