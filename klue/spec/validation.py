"""Prepared schema validators.

A ``SchemaValidator`` is built once per schema, when a spec is spawned or an
operation first called. Checking a value runs jsonschema-rs (compiled Rust,
~13x faster than fastjsonschema's generated Python on the bench order, which
was itself ~20x faster than jsonschema); only when a value is rejected does
jsonschema go over it again, to say precisely which fields are wrong and why.
Schemas jsonschema-rs refuses (a regex only Python reads) and values it
cannot read (a dict with int keys) go through fastjsonschema instead, so
the verdict never depends on which engine ran.
"""
from __future__ import annotations

import copy
import json
import re
import warnings
from typing import Any, Callable, Iterable, Iterator

import fastjsonschema
import jsonschema

from ..exceptions import FieldError, ValidationError
from .formats import FormatRegistry
from .loader import unescape_pointer_token

try:
    import jsonschema_rs
except ImportError:  # pragma: no cover - a platform without its wheel: fastjsonschema alone
    jsonschema_rs = None

DRAFT4 = "http://json-schema.org/draft-04/schema#"
#: At most this many field errors are reported for one value.
MAX_REPORTED_ERRORS = 10


def field_path(path: Iterable[Any]) -> str:
    """``['items', 0, 'name']`` -> ``items[0].name``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class SchemaValidator:
    """Validates values against one schema. ``fill_defaults`` writes declared
    property defaults into objects being validated (for requests)."""

    __slots__ = ("_root", "_formats", "_rust", "_python", "_explainer", "_fill")

    def __init__(self, schema: dict, definitions: dict, formats: FormatRegistry, *, fill_defaults: bool = False,
                 format_names: Iterable[str] | None = None) -> None:
        # Swagger 2.0 schemas are draft 4 (exclusiveMinimum is a boolean...);
        # without $schema, validators would read them as draft 7.
        self._root = {"$schema": DRAFT4, "definitions": definitions, "allOf": [schema]}
        self._formats = formats
        self._explainer: jsonschema.protocols.Validator | None = None
        self._python: Callable[[Any], Any] | None = None
        # The formats the schema names (None: find them; ValidatorCache knows them).
        names = named_formats(self._root) if format_names is None else format_names
        self._rust = _rust_validator(self._root, formats, names)
        if self._rust is None:
            self._python_check()  # compiled now: spawning is when schemas are compiled
        self._fill = default_filler(schema, definitions) if fill_defaults else None

    def is_valid(self, value: Any) -> bool:
        if self._rust is not None:
            try:
                return self._rust.is_valid(value)
            except (ValueError, TypeError, OverflowError):
                pass  # a value jsonschema-rs cannot read: the Python engine decides
        try:
            self._python_check()(value)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    def accepts_as_is(self, value: Any) -> bool:
        """True when the compiled engine finds ``value`` valid as it is; False
        also when it cannot tell (types JSON lacks, no compiled engine)."""
        if self._rust is None:
            return False
        try:
            return self._rust.is_valid(value)
        except (ValueError, TypeError, OverflowError):
            return False

    def validate(self, value: Any, location: str, name: str = "") -> Any:
        """Return ``value`` (defaults filled) or raise ``ValidationError`` naming each bad field."""
        try:
            valid = self.is_valid(value)
        except RecursionError:
            raise ValidationError.for_field(location, name, "value is nested too deeply") from None
        if not valid:
            raise ValidationError(errors=self.explain(value, location, name))
        if self._fill is not None:
            self._fill(value)
        return value

    def explain(self, value: Any, location: str, name: str) -> list[FieldError]:
        errors = []
        try:
            found = sorted(self._explaining_validator().iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
        except RecursionError:
            found = []
        for error in found[:MAX_REPORTED_ERRORS]:
            field = field_path([name, *error.absolute_path] if name else error.absolute_path)
            errors.append(FieldError(location, field, _message(error)))
        if not errors:  # the explainer disagrees: report what the fast check said
            path, message = self._fast_reason(value)
            errors.append(FieldError(location, field_path([name, *path] if name else path), message))
        return errors

    def _fast_reason(self, value: Any) -> tuple[list, str]:
        """(path, message) of the first error the fast engines find."""
        if self._rust is not None:
            try:
                self._rust.validate(value)
            except jsonschema_rs.ValidationError as e:
                return list(e.instance_path), e.message
            except (ValueError, TypeError, OverflowError, RecursionError):
                pass
        try:
            self._python_check()(value)
        except fastjsonschema.JsonSchemaException as e:
            return [], e.message.replace("data", "value", 1)
        except RecursionError:
            return [], "value is nested too deeply"
        return [], "value is invalid"

    def _python_check(self) -> Callable[[Any], Any]:
        if self._python is None:
            self._python = fastjsonschema.compile(self._root, formats=self._formats.checks(), use_default=False)
        return self._python

    def _explaining_validator(self) -> jsonschema.protocols.Validator:
        if self._explainer is None:
            self._explainer = jsonschema.Draft4Validator(self._root, format_checker=format_checker(self._formats))
        return self._explainer


def _rust_validator(root: dict, formats: FormatRegistry, format_names: Iterable[str]) -> Any:
    """A jsonschema-rs validator checking exactly klue's formats, or None
    when it refuses the schema (the Python engine then validates it)."""
    if jsonschema_rs is None:
        return None
    checks: dict[str, Callable[[str], bool]] = dict.fromkeys(format_names, _any_string)
    checks["regex"] = _is_python_regex  # as fastjsonschema: patterns are Python's
    checks.update(formats.checks())
    try:
        return jsonschema_rs.Draft4Validator(root, formats=checks, validate_formats=True,
                                             ignore_unknown_formats=True, offline=True)
    except Exception:  # e.g. a pattern Rust's regex cannot compile
        return None


def _any_string(value: str) -> bool:
    """A format klue does not define checks nothing (jsonschema-rs would check some)."""
    return True


def _is_python_regex(value: str) -> bool:
    try:
        re.compile(value)
    except (re.error, RecursionError, OverflowError):
        return False
    return True


def named_formats(node: Any) -> set[str]:
    """Every ``format`` a schema (and what it contains) names."""
    return {m["format"] for m in _mappings(node) if isinstance(m.get("format"), str)}


def _mappings(node: Any) -> Iterator[dict]:
    """Every mapping in a JSON tree (without recursion: specs nest deep)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(v for v in item.values() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))


# -- declared defaults -------------------------------------------------------------------

Fill = Callable[[Any], None]
_REF = "#/definitions/"


def default_filler(schema: dict, definitions: dict) -> Fill | None:
    """A function writing the ``default`` of each absent property into a
    (valid) value, in place, at any depth; None when the schema declares none.

    Defaults come from ``properties`` reached through ``$ref``, ``allOf``,
    ``items`` and ``additionalProperties``, and through an ``anyOf``/``oneOf``
    whose only non-null branch is an object (a nullable ref); other unions are
    ambiguous and left alone."""
    return _DefaultFillers(definitions).build(schema)


class _DefaultFillers:
    def __init__(self, definitions: dict) -> None:
        self.definitions = definitions
        self.by_ref: dict[str, Fill | None] = {}
        self.building: set[str] = set()

    def build(self, schema: Any) -> Fill | None:
        if not isinstance(schema, dict):
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            return self._ref(unescape_pointer_token(ref[len(_REF):]))
        parts = [f for f in (self._object(schema), self._items(schema), *map(self.build, schema.get("allOf", ())),
                             self._union(schema)) if f is not None]
        if not parts:
            return None
        if len(parts) == 1:
            return parts[0]

        def fill_all(value: Any) -> None:
            for fill in parts:
                fill(value)

        return fill_all

    def _ref(self, name: str) -> Fill | None:
        if name in self.by_ref:
            return self.by_ref[name]
        if name in self.building:  # recursive: call through the table, filled once built
            return lambda value: (self.by_ref.get(name) or _nothing)(value)
        self.building.add(name)
        try:
            self.by_ref[name] = self.build(self.definitions.get(name))
        finally:
            self.building.discard(name)
        return self.by_ref[name]

    def _object(self, schema: dict) -> Fill | None:
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        defaults = tuple((k, s["default"]) for k, s in props.items() if isinstance(s, dict) and "default" in s)
        nested = tuple((k, f) for k, f in ((k, self.build(s)) for k, s in props.items()) if f is not None)
        extra = self.build(schema.get("additionalProperties"))
        if not defaults and not nested and extra is None:
            return None
        known = frozenset(props)

        def fill_object(value: Any) -> None:
            if not isinstance(value, dict):
                return
            for key, fill in nested:
                if key in value:
                    fill(value[key])
            if extra is not None:
                for key, item in value.items():
                    if key not in known:
                        extra(item)
            for key, default in defaults:
                if key not in value:
                    value[key] = copy.deepcopy(default) if isinstance(default, (dict, list)) else default

        return fill_object

    def _items(self, schema: dict) -> Fill | None:
        items = schema.get("items")
        if isinstance(items, list):  # a tuple: one schema per position
            by_position = [self.build(s) for s in items]
            if not any(by_position):
                return None

            def fill_tuple(value: Any) -> None:
                if isinstance(value, list):
                    for fill, item in zip(by_position, value):
                        if fill is not None:
                            fill(item)

            return fill_tuple
        each = self.build(items)
        if each is None:
            return None

        def fill_each(value: Any) -> None:
            if isinstance(value, list):
                for item in value:
                    each(item)

        return fill_each

    def _union(self, schema: dict) -> Fill | None:
        branches = [s for s in [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
                    if not (isinstance(s, dict) and s.get("type") == "null")]
        return self.build(branches[0]) if len(branches) == 1 else None


def _nothing(value: Any) -> None:
    return None


def format_checker(formats: FormatRegistry) -> jsonschema.FormatChecker:
    """jsonschema's view of ``formats``: the same checks the fast validators run (on strings)."""
    checker = jsonschema.FormatChecker(formats=())
    for fmt, check in formats.checks().items():
        checker.checks(fmt)(_strings_only(check))
    return checker


def _strings_only(check: Any) -> Any:
    return lambda value: not isinstance(value, str) or check(value)


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, but never quoting a secret or a whole object: error
    bodies go back to clients and into logs."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "not" and schema.get(READ_ONLY_MARK):
        return "is read-only: the server sets it, a request cannot"
    if schema.get("format") == "password" or schema.get("writeOnly") is True:
        return f"the value (not shown) fails '{error.validator}: {error.validator_value}'"
    if error.validator == "format":
        return f"{_short(error.instance)} is not a valid {error.validator_value}"
    if error.validator == "additionalProperties" and error.validator_value is False:
        return error.message.replace("were unexpected", "are not allowed").replace("was unexpected", "is not allowed")
    if isinstance(error.instance, (dict, list)) and error.validator != "required":
        kind = "object" if isinstance(error.instance, dict) else "array"
        return error.message.replace(repr(error.instance), f"the {kind}", 1)
    return error.message


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


REQUEST, RESPONSE = "request", "response"
#: The property flag each direction treats specially.
_HIDDEN = {REQUEST: "readOnly", RESPONSE: "writeOnly"}


def has_flag(schema: Any, flag: str) -> bool:
    """``readOnly: true`` on the schema or (3.1 ``$ref`` siblings) on one of its ``allOf`` parts."""
    return isinstance(schema, dict) and (schema.get(flag) is True or any(has_flag(p, flag) for p in schema.get("allOf", ())))


def directional(schema: Any, direction: str) -> Any:
    """``schema`` as seen in requests (readOnly properties are not required, and
    refused if sent) or in responses (writeOnly properties are not required)."""
    if isinstance(schema, list):
        return [directional(s, direction) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: directional(v, direction) for k, v in schema.items()}
    props = schema.get("properties")
    if isinstance(props, dict):
        hidden = {name for name, sub in props.items() if has_flag(sub, _HIDDEN[direction])}
        if hidden:
            if isinstance(out.get("required"), list):
                out["required"] = [r for r in out["required"] if r not in hidden] or None
                if out["required"] is None:
                    del out["required"]
            if direction == REQUEST:
                out["properties"] = {n: ({"not": {}, READ_ONLY_MARK: True} if n in hidden else s)
                                     for n, s in out["properties"].items()}
    return out


READ_ONLY_MARK = "x-klue-read-only"


class ValidatorCache:
    """Builds each distinct schema's validator once per API, for requests,
    responses, or neither (``direction``)."""

    def __init__(self, definitions: dict, formats: FormatRegistry) -> None:
        self.formats = formats
        self._views: dict[str | None, dict] = {None: definitions}
        self._flags = any(f in json.dumps(definitions) for f in ('"readOnly"', '"writeOnly"'))
        self._index = _DefinitionIndex(definitions)
        self._cache: dict[tuple[str, bool, str | None], SchemaValidator] = {}

    def get(self, schema: dict, *, fill_defaults: bool = False, direction: str | None = None) -> SchemaValidator:
        key = (json.dumps(schema, sort_keys=True, default=str), fill_defaults, direction)
        validator = self._cache.get(key)
        if validator is None:
            if direction is not None and (self._flags or any(f in key[0] for f in ('"readOnly"', '"writeOnly"'))):
                schema, definitions = directional(schema, direction), self._view(direction)
            else:
                definitions = self._views[None]
            # Only the definitions the schema reaches: compiling a scalar
            # parameter's validator with Stripe's 1,300 definitions took 25 ms.
            names = self._index.reachable(schema)
            if names is not None:
                definitions = {n: definitions[n] for n in names}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                validator = SchemaValidator(schema, definitions, self.formats, fill_defaults=fill_defaults,
                                            format_names=self._index.formats(names) | named_formats(schema))
            self._cache[key] = validator
        return validator

    def _view(self, direction: str) -> dict:
        if direction not in self._views:
            self._views[direction] = {n: directional(s, direction) for n, s in self._views[None].items()}
        return self._views[direction]


class _DefinitionIndex:
    """Which definitions each definition refers to, and which formats it
    names, each found once (specs can be megabytes)."""

    def __init__(self, definitions: dict) -> None:
        self.definitions = definitions
        self._refs: dict[str, set[str] | None] = {}
        self._formats: dict[str, set[str]] = {}

    def reachable(self, schema: Any) -> set[str] | None:
        """Names of the definitions ``schema`` reaches, or None (all of them)
        when it refers somewhere else than ``#/definitions/<Name>``."""
        direct = _definition_refs(schema)
        if direct is None:
            return None
        seen: set[str] = set()
        stack = list(direct)
        while stack:
            name = stack.pop()
            if name in seen or name not in self.definitions:
                continue
            seen.add(name)
            if name not in self._refs:
                self._refs[name] = _definition_refs(self.definitions[name])
            refs = self._refs[name]
            if refs is None:
                return None
            stack.extend(refs)
        return seen

    def formats(self, names: Iterable[str] | None) -> set[str]:
        found: set[str] = set()
        for name in self.definitions if names is None else names:
            if name not in self._formats:
                self._formats[name] = named_formats(self.definitions[name])
            found |= self._formats[name]
        return found


def _definition_refs(node: Any) -> set[str] | None:
    """Definition names referred to in ``node`` (None if a ref points elsewhere)."""
    found: set[str] = set()
    for mapping in _mappings(node):
        ref = mapping.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith(_REF):
                return None
            found.add(unescape_pointer_token(ref[len(_REF):].split("/", 1)[0]))
    return found


class _Metaschema:
    """Checks that a schema is itself valid JSON Schema draft 4 (keyword types,
    regex patterns), so a broken spec fails at load time, not on a request."""

    def __init__(self) -> None:
        meta = dict(jsonschema.Draft4Validator.META_SCHEMA)
        meta.pop("id", None)  # refs to "#" stay local
        self._check = fastjsonschema.compile(meta, use_default=False)
        self._explainer = jsonschema.Draft4Validator(meta, format_checker=jsonschema.FormatChecker(formats=("regex",)))

    def problems(self, schema: Any) -> list[tuple[list, str]]:
        """[(path inside the schema, reason)], empty when the schema is valid."""
        try:
            self._check(schema)
            return []
        except fastjsonschema.JsonSchemaException as fast_error:
            found = [(list(e.absolute_path), e.message) for e in self._explainer.iter_errors(schema)]
            return found or [([], fast_error.message.replace("data", "schema", 1))]
        except RecursionError:
            return [([], "schema is nested too deeply")]


_metaschema: _Metaschema | None = None


def schema_problems(schema: Any) -> list[tuple[list, str]]:
    global _metaschema
    if _metaschema is None:  # compiled on first use, not at import
        _metaschema = _Metaschema()
    return _metaschema.problems(schema)


def default_problems(default: Any, schema: dict) -> str:
    """Why ``default`` does not match ``schema`` ('' when it does). jsonschema,
    not a compiled validator: a default is checked once, compiling costs more."""
    if schema_problems(schema):
        return ""  # the schema's own problems are reported already
    errors = list(jsonschema.Draft4Validator(schema, format_checker=_builtin_checker()).iter_errors(default))
    return "; ".join(_message(e) for e in errors[:MAX_REPORTED_ERRORS])


_builtin: jsonschema.FormatChecker | None = None


def _builtin_checker() -> jsonschema.FormatChecker:
    global _builtin
    if _builtin is None:
        _builtin = format_checker(FormatRegistry())
    return _builtin
