"""Model classes: bravado-core classes built from a spec's definitions.

``api.model.Pet(name="Rex")`` is a ``bravado_core.model.Model`` subclass
named after its definition (through ``KlueModel``, which makes building and
reading instances cheap: a handler reads every field of every request). A definition with ``x-persist: pkg.mod.Class``
gets ``load_from_db`` (on the class) and ``save_to_db`` (on instances) that
forward to ``Class``.

bravado-core is imported and called through ``klue.spec.bravado``, which
filters the DeprecationWarnings jsonschema raises for it.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

from .exceptions import BindingError
from .importing import import_object
from .spec.bravado import BravadoSpec, Model, create_model_type, is_object, quiet_bravado
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
                bravado_spec.definitions[name] = KlueModel.prepare(create_model_type(
                    bravado_spec, name, schema, bases=(KlueModel,),
                    json_reference="#/definitions/" + escape_pointer_token(name)))
    return dict(bravado_spec.definitions)


#: Where bravado-core's Model keeps an instance's values (a slot).
_set_values = Model.__dict__["_Model__dict"].__set__


class KlueModel(Model):
    """bravado-core's ``Model``, behaving the same, at a fraction of the cost.

    bravado-core builds an instance by checking and copying each property in
    Python (~5 us a model) and reads ``pet.name`` through ``__getattr__``
    after a failed normal lookup (~0.6 us). Here each declared property is a
    class-level accessor (~0.1 us) and building is one dict merge. The
    values still live where bravado-core keeps them, so its functions
    (``_as_dict``, marshalling, equality) work on these instances unchanged."""

    __slots__ = ()
    _klue_field_set: frozenset[str] = frozenset()
    _klue_template: dict[str, None] = {}  # every property, None: an instance's values start as a copy
    _klue_closed = False  # additionalProperties: false

    def __init__(self, **kwargs: Any) -> None:
        _set_values(self, type(self)._klue_values(kwargs))

    @classmethod
    def _from_dict(cls, dct: Any) -> Any:
        model = object.__new__(cls)
        _set_values(model, cls._klue_values(dct))
        return model

    @classmethod
    def _klue_values(cls, values: Any) -> dict:
        """An instance's value dict: every property, None when unset (as
        bravado-core's ``include_missing_properties``), then ``values``."""
        if cls._klue_closed and not cls._klue_field_set.issuperset(values):
            extra = sorted(set(values) - cls._klue_field_set)
            raise AttributeError(f"Model {cls!r} does not have attributes for: {extra}")
        return {**cls._klue_template, **values}

    @classmethod
    def _klue_decoder(cls, convert_fields: Callable[[dict], None] | None = None) -> Callable[[Any], Any]:
        """A function from a decoded JSON object to an instance (anything else
        passes through), in one call: a request builds one per object it holds.
        ``convert_fields`` converts property values in place (nested models...)."""
        new, template = object.__new__, cls._klue_template

        def decode(value: Any) -> Any:
            if not isinstance(value, dict):
                return value
            fields = cls._klue_values(value) if cls._klue_closed else template | value
            if convert_fields is not None:
                convert_fields(fields)
            model = new(cls)
            _set_values(model, fields)
            return model

        return decode

    def __copy__(self) -> Any:
        # bravado-core's Model has none: copy.copy recursed through __getattr__ forever.
        return type(self)._from_dict(self._Model__dict)

    @staticmethod
    def prepare(cls: type) -> type:
        """Record ``cls``'s properties and give each one an accessor, unless
        the name is taken by a method (which then wins, as in bravado-core)."""
        fields = tuple(cls._properties)  # type: ignore[attr-defined]
        type.__setattr__(cls, "_klue_field_set", frozenset(fields))
        type.__setattr__(cls, "_klue_template", dict.fromkeys(fields))
        type.__setattr__(cls, "_klue_closed", cls._model_spec.get("additionalProperties") is False)  # type: ignore[attr-defined]
        for field in fields:
            if field.isidentifier() and not hasattr(cls, field):
                type.__setattr__(cls, field, _accessor(field))
        return cls


def _accessor(field: str) -> property:
    def get(self: Any) -> Any:
        try:
            return self._Model__dict[field]
        except KeyError:  # deleted additional property... or a declared one never is
            raise AttributeError(f"type object {type(self).__name__!r} has no attribute {field!r}") from None

    get.__name__ = field
    return property(get, doc=f"The '{field}' property.")


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
