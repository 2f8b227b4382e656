"""Model classes built from a spec's definitions.

``api.model.Pet(name="Rex")`` is an instance of a class named after its
definition, a subclass of ``klue.models.Model``. Models behave as the
bravado-core models of the original klue did (construction by keywords,
``pet.name`` and ``pet["name"]``, ``_as_dict``, ``_from_dict``, equality,
inheritance through ``allOf``), without bravado-core: each declared property
is a class-level accessor, building an instance is one dict merge, and
instances and classes pickle (by API and model name).

Keywords are stricter than data: ``Pet(nme="x")`` raises
``UnknownPropertyError`` (a ``TypeError``) unless the definition allows
additional properties explicitly (``additionalProperties: true`` or a
schema, in it or in an ``allOf`` part, and no part saying ``false``): a
typo is likelier than an intended extra. Data (``_from_dict``, decoded JSON)
keeps JSON Schema's rule: extras are refused only by ``additionalProperties:
false``. What a class accepts is computed once, when it is built.

A definition with ``x-persist: pkg.mod.Class`` gets ``load_from_db`` (on the
class) and ``save_to_db`` (on instances) that forward to ``Class``.
"""

from __future__ import annotations

import copy
import copyreg
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .exceptions import BindingError, KlueException, UnknownPropertyError
from .importing import import_object
from .schema.view import collapsed_properties, primary_type, ref_name, ref_to


class ModelMeta(type):
    """The type of model classes: ``isinstance(dog, Animal)`` holds when
    definition ``Dog`` extends ``Animal`` through ``allOf``, as in bravado-core."""

    _klue_ancestors: frozenset[str]

    def __instancecheck__(cls, instance: Any) -> bool:
        return cls.__subclasscheck__(type(instance))

    def __subclasscheck__(cls, subclass: Any) -> bool:
        if type.__subclasscheck__(cls, subclass):
            return True
        return (
            isinstance(subclass, ModelMeta)
            and cls is not Model
            and cls.__name__ in subclass._klue_ancestors
            # another API's model of that name is another model, unless ApiPool.merge made them one
            and subclass._klue_api_name in cls._klue_apis  # type: ignore[attr-defined]
        )


class Model(metaclass=ModelMeta):
    """The base of every model class; its public methods start with ``_`` so
    that any property name is free (``model["_as_dict"]`` reaches a property
    a method hides)."""

    __slots__ = ("_Model__dict",)  # bravado-core's name: code reading it keeps working
    _klue_ancestors: frozenset[str] = frozenset()
    _klue_api_name = ""
    #: The APIs whose model this class is: its own, and those ``ApiPool.merge`` shared it with.
    _klue_apis: frozenset[str] = frozenset()
    _model_spec: dict[str, Any] = {}
    _json_reference = ""
    _properties: dict[str, dict[str, Any]] = {}
    _inherits_from: list[str] = []
    _klue_field_set: frozenset[str] = frozenset()
    _klue_template: dict[str, None] = {}  # every property, None: an instance's values start as a copy
    _klue_closed = False  # additionalProperties: false
    #: Keywords that are not declared properties are accepted: the definition allows them explicitly.
    _klue_open_keywords = False
    #: ``patternProperties`` of the definition (and its ``allOf`` parts): names matching one are declared too.
    _klue_patterns: tuple[re.Pattern[str], ...] = ()

    def __init__(self, **kwargs: Any) -> None:
        cls = type(self)
        values = {**cls._klue_template, **kwargs}
        # the template holds every declared property: a bigger dict means a keyword that is not one
        if len(values) != len(cls._klue_template) and not cls._klue_open_keywords:
            cls._klue_check_names(kwargs, closed=cls._klue_closed)
        object.__setattr__(self, "_Model__dict", values)

    @classmethod
    def _from_dict(cls, dct: Any) -> Any:
        """An instance from a mapping of property values (``self`` may be one of them)."""
        model = object.__new__(cls)
        object.__setattr__(model, "_Model__dict", cls._klue_values(dct))
        return model

    @classmethod
    def _klue_values(cls, values: Any) -> dict[str, Any]:
        """An instance's value dict: every property, None when unset, then ``values``."""
        if cls._klue_closed and not cls._klue_field_set.issuperset(values):
            cls._klue_check_names(values, closed=True, keywords=False)
        return {**cls._klue_template, **values}

    @classmethod
    def _klue_check_names(cls, names: Iterable[Any], *, closed: bool, keywords: bool = True) -> None:
        """Raise ``UnknownPropertyError`` for the names that are neither declared
        nor matched by a ``patternProperties`` pattern (the slow path: a name
        outside ``_klue_field_set`` was given)."""
        unknown = [
            name
            for name in names
            if name not in cls._klue_field_set
            and not (isinstance(name, str) and any(p.search(name) for p in cls._klue_patterns))
        ]
        if not unknown:
            return
        if closed:
            why = "its schema says additionalProperties: false"
        else:
            why = "its schema does not say additionalProperties: true; "
            why += f"{cls.__name__}._from_dict() takes extra properties"
        known = sorted(cls._klue_field_set)
        raise UnknownPropertyError(cls.__name__, [str(n) for n in unknown], known, why, keywords=keywords)

    @classmethod
    def _klue_decoder(cls, convert_fields: Callable[[dict[str, Any]], None] | None = None) -> Callable[[Any], Any]:
        """A function from a decoded JSON object to an instance (anything else
        passes through); ``convert_fields`` converts property values in place."""
        return _ModelDecoder(cls, convert_fields)

    # -- properties as attributes and items --------------------------------------------

    def __getattr__(self, name: str) -> Any:  # only reached for additional properties
        if name == "_Model__dict":  # not set yet (an instance half unpickled): no recursion
            raise AttributeError(name)
        try:
            return self._Model__dict[name]
        except KeyError:
            raise AttributeError(f"type object {type(self).__name__!r} has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._Model__dict[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> Any:
        return self._Model__dict[name]

    def __setitem__(self, name: str, value: Any) -> None:
        self._Model__dict[name] = value

    def __delitem__(self, name: str) -> None:
        """A declared property goes back to None; an additional one goes."""
        if name in self._klue_field_set:
            self._Model__dict[name] = None
        else:
            del self._Model__dict[name]

    def __contains__(self, name: object) -> bool:
        return name in self._Model__dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._Model__dict)

    def __dir__(self) -> list[str]:
        return sorted(self._Model__dict)

    # -- values -----------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return False
        return bool(self._Model__dict == other._Model__dict)

    __hash__ = None  # type: ignore[assignment]  # mutable, as bravado-core's

    def __repr__(self) -> str:
        values = self._Model__dict
        return f"{type(self).__name__}({', '.join(f'{k}={values[k]!r}' for k in sorted(values))})"

    def __copy__(self) -> Any:
        return type(self)._from_dict(self._Model__dict)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return type(self)._from_dict(copy.deepcopy(self._Model__dict, memo))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_model, (type(self), dict(self._Model__dict)))

    @property
    def _additional_props(self) -> set[str]:
        """Names of the instance's properties that the definition does not declare."""
        return set(self._Model__dict) - self._klue_field_set

    def _as_dict(self, additional_properties: bool = True, recursive: bool = True) -> dict[str, Any]:
        """The property values as a dict; nested models (and lists of them) as
        dicts too unless ``recursive`` is false."""
        out = {}
        for name, value in self._Model__dict.items():
            if not additional_properties and name not in self._klue_field_set:
                continue
            if recursive:
                value = _as_plain(value, additional_properties)
            out[name] = value
        return out

    _asdict = _as_dict  # the namedtuple spelling, as bravado-core has it


def _as_plain(value: Any, additional_properties: bool) -> Any:
    if isinstance(type(value), ModelMeta):
        return value._as_dict(additional_properties, True)
    if isinstance(value, (list, tuple)):
        return [_as_plain(v, additional_properties) for v in value]
    return value


class _ModelDecoder:
    """Decoded JSON object -> model instance, in one call (a request builds one per object)."""

    __slots__ = ("convert_fields", "model")

    def __init__(self, model: type[Model], convert_fields: Callable[[dict[str, Any]], None] | None) -> None:
        self.model = model
        self.convert_fields = convert_fields

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        model = self.model
        fields = model._klue_values(value) if model._klue_closed else model._klue_template | value
        if self.convert_fields is not None:
            self.convert_fields(fields)
        instance = object.__new__(model)
        object.__setattr__(instance, "_Model__dict", fields)
        return instance


def is_model(value: object) -> bool:
    """``isinstance(value, Model)``, without going through ``ModelMeta.__instancecheck__``."""
    return isinstance(type(value), ModelMeta)


def fields_of(model: Model) -> dict[str, Any]:
    """A model's own field dict, not a copy (``_as_dict`` copies): for the codec, which only reads it."""
    fields: dict[str, Any] = model._Model__dict
    return fields


# -- building classes --------------------------------------------------------------------


def build_model_classes(definitions: dict[str, Any], api_name: str = "") -> dict[str, type]:
    """{definition name: model class} for the object definitions of a spec
    (normalised: draft-4 schemas whose refs are ``#/definitions/<Name>``)."""
    return {
        name: _model_class(name, schema, definitions, api_name)
        for name, schema in definitions.items()
        if _is_object_definition(schema, definitions)
    }


def _model_class(name: str, schema: dict[str, Any], definitions: dict[str, Any], api_name: str) -> type:
    properties = collapsed_properties(schema, definitions)
    allowed, patterns = _extras_allowed(schema, definitions)
    cls = ModelMeta(
        name,
        (Model,),
        {
            "__slots__": (),
            "__module__": __name__,
            "__qualname__": name,
            "__doc__": f"Model '{name}' of API '{api_name}'." if api_name else f"Model '{name}'.",
            "_klue_api_name": api_name,
            "_klue_apis": frozenset({api_name}),
            "_model_spec": schema,
            "_json_reference": ref_to(name),
            "_properties": properties,
            "_inherits_from": _parents(schema),
            "_klue_ancestors": frozenset(_ancestors(name, definitions)),
            "_klue_field_set": frozenset(properties),
            "_klue_template": dict.fromkeys(properties),
            "_klue_closed": schema.get("additionalProperties") is False,
            "_klue_open_keywords": allowed is True,
            "_klue_patterns": patterns,
        },
    )
    for field in properties:
        if field.isidentifier() and not hasattr(cls, field):  # a method of the same name wins
            type.__setattr__(cls, field, _PropertyAccessor(field))
    return cls


class _PropertyAccessor:
    """``pet.name``: a class-level descriptor reading the instance's value dict
    (cheaper than ``__getattr__`` after a failed lookup)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        if instance is None:
            return self
        try:
            return instance._Model__dict[self.name]
        except KeyError:  # deleted from the dict by hand: a declared property never is otherwise
            raise AttributeError(f"type object {type(instance).__name__!r} has no attribute {self.name!r}") from None


def _extras_allowed(schema: Any, definitions: dict[str, Any]) -> tuple[bool | None, tuple[re.Pattern[str], ...]]:
    """What a definition says of properties it does not declare, through ``allOf``
    and refs: True when one part allows them (``additionalProperties: true`` or
    a schema) and none forbids them, False when one forbids them, None when
    none says; and its ``patternProperties`` patterns."""
    says: set[bool] = set()
    patterns: list[re.Pattern[str]] = []
    seen: set[int] = set()
    todo = [schema]
    while todo:
        part = _follow_refs(todo.pop(), definitions)
        if not isinstance(part, dict) or id(part) in seen:
            continue
        seen.add(id(part))
        extra = part.get("additionalProperties")
        if extra is False or extra is True or isinstance(extra, dict):
            says.add(extra is not False)
        for pattern in part.get("patternProperties") or ():
            try:
                patterns.append(re.compile(pattern))
            except (re.error, TypeError):  # not Python's syntax: such names cannot be told apart, accept them
                patterns.append(re.compile(""))
        todo.extend(part.get("allOf", ()))
    allowed = False if False in says else (True if says else None)
    return allowed, tuple(patterns)


def _is_object_definition(schema: Any, definitions: dict[str, Any]) -> bool:
    """As bravado-core decides: ``type: object``, or no type and an ``allOf``."""
    schema = _follow_refs(schema, definitions)
    if not isinstance(schema, dict):
        return False
    kind = primary_type(schema)
    return kind == "object" or (kind is None and "allOf" in schema)


def _follow_refs(schema: Any, definitions: dict[str, Any]) -> Any:
    for _ in range(32):
        name = ref_name(schema)
        if name is None:
            break
        schema = definitions.get(name)
    return schema


def _parents(schema: dict[str, Any]) -> list[str]:
    return [name for part in schema.get("allOf", ()) if (name := ref_name(part)) is not None]


def _ancestors(name: str, definitions: dict[str, Any]) -> set[str]:
    """``name`` and every definition it extends, directly or not, through ``allOf``."""
    found, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        schema = definitions.get(current)
        if isinstance(schema, dict):
            todo.extend(_parents(schema))
    return found


# -- pickling ----------------------------------------------------------------------------


def _model_class_of(api_name: str, model_name: str) -> type:
    """The model class a pickle names: model ``model_name`` of the loaded API ``api_name``."""
    from .pool import ApiPool

    if api_name not in ApiPool:
        raise KlueException(f"cannot unpickle model '{model_name}': API '{api_name}' is not loaded in ApiPool")
    return getattr(getattr(ApiPool, api_name).model, model_name)  # type: ignore[no-any-return]


def _reduce_model_class(cls: ModelMeta) -> Any:
    if cls is Model or not cls._klue_api_name:  # type: ignore[attr-defined]
        return cls.__qualname__  # a plain global: klue.models.Model
    return (_model_class_of, (cls._klue_api_name, cls.__name__))  # type: ignore[attr-defined]


def _rebuild_model(cls: type[Model], values: dict[str, Any]) -> Model:
    return cls._from_dict(values)  # type: ignore[no-any-return]


copyreg.pickle(ModelMeta, _reduce_model_class)


# -- x-persist and api.model -------------------------------------------------------------


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
