"""Prepared schema validators: one engine, linear-time patterns.

A ``SchemaValidator`` is built once per schema, when a spec is spawned or an
operation first called. jsonschema-rs (compiled Rust) both checks values and,
when one is rejected, says which fields are wrong; its messages are rebuilt
short (``messages``). Its regex engine matches patterns without
backtracking, except those with look-around or backreferences, which are
matched under a step limit (``PATTERN_BACKTRACK_LIMIT``): no pattern from a
spec can freeze a server. A pattern jsonschema-rs cannot read (Python-only
syntax such as ``\\Z``) is a load error (``schema_problems``).
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from typing import Any

import jsonschema_rs

from ..exceptions import FieldError, SchemaCompileError, ValidationError
from .formats import FormatRegistry
from .messages import READ_ONLY_MARK, describe, field_name, quote
from .view import DEFINITIONS_REF, DRAFT4, DRAFT2020, ref_to, unescape_pointer_token, union_branches

#: jsonschema-rs' validator for each draft normalised schemas are written in.
_VALIDATORS: dict[str, type[jsonschema_rs.Draft4Validator | jsonschema_rs.Draft202012Validator]] = {
    DRAFT4: jsonschema_rs.Draft4Validator,
    DRAFT2020: jsonschema_rs.Draft202012Validator,
}
#: At most this many field errors are reported for one value.
MAX_REPORTED_ERRORS = 10
#: A pattern with look-around or backreferences gets this many backtracking
#: steps per value (about 0.3 ms); a value needing more is rejected.
PATTERN_BACKTRACK_LIMIT = 10_000
#: Values with more nodes than this are explained by their first error only:
#: listing every error of a huge value costs more than parsing it.
_EXPLAIN_ALL_UP_TO = 2_000


def field_path(path: Iterable[Any]) -> str:
    """``['items', 0, 'name']`` -> ``items[0].name``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


#: A compiled validator, the document its errors' schema paths point into, and
#: the property of that document's root the schema is (None: the schema is the
#: document's ``allOf[0]``, and values are validated as they are).
Compiled = tuple[jsonschema_rs.Validator, dict[str, Any], str | None]


class SchemaValidator:
    """Validates values against one schema. ``fill_defaults`` writes declared
    property defaults into objects being validated (for requests); ``draft``
    is the JSON Schema the schema is written in (``DRAFT4`` or ``DRAFT2020``).

    ``compiled`` shares a validator already built (``ValidatorCache``): one
    jsonschema-rs validator holds many schemas as properties of its root, and a
    value is validated as ``{member: value}``."""

    __slots__ = ("_fill", "_member", "_root", "_rust")
    _rust: jsonschema_rs.Validator
    _root: dict[str, Any]
    _member: str | None

    def __init__(
        self,
        schema: dict[str, Any],
        definitions: dict[str, Any],
        formats: FormatRegistry,
        *,
        fill_defaults: bool = False,
        format_names: Iterable[str] | None = None,
        compiled: Compiled | None = None,
        draft: str = DRAFT4,
    ) -> None:
        if compiled is None:
            # Swagger 2.0 and OpenAPI 3.0 schemas are draft 4 (exclusiveMinimum is a boolean...),
            # OpenAPI 3.1's 2020-12; without $schema, validators would read them as draft 7.
            # In 2020-12 "definitions" is no keyword, only where refs point, as in draft 4.
            root = {"$schema": draft, "definitions": definitions, "allOf": [schema]}
            # The formats the schema names (None: find them; ValidatorCache knows them).
            names = named_formats(root) if format_names is None else format_names
            compiled = (compile_validator(root, formats, names, draft), root, None)
        self._rust, self._root, self._member = compiled
        self._fill = default_filler(schema, definitions) if fill_defaults else None

    @property
    def compiled(self) -> Compiled:
        return self._rust, self._root, self._member

    def is_valid(self, value: Any) -> bool:
        member = self._member
        try:
            return self._rust.is_valid(value if member is None else {member: value})
        except (ValueError, TypeError, OverflowError):
            readable = json_keyed(value)  # e.g. int keys, which JSON sends as strings
        try:
            return self._rust.is_valid(readable if member is None else {member: readable})
        except (ValueError, TypeError, OverflowError):
            return False  # a date, a set...: not a JSON value, so not valid JSON

    def accepts_as_is(self, value: Any) -> bool:
        """True when ``value`` is valid as it is; False also when it holds
        types JSON lacks (int keys, dates) that an encoder would convert."""
        try:
            return self._rust.is_valid(value if self._member is None else {self._member: value})
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
        """The field errors of a rejected value: at most ``MAX_REPORTED_ERRORS``,
        each message short whatever the size of the value."""
        prefix = [name] if name else []
        try:
            errors, value = self._errors_of(value)
        except (ValueError, TypeError, OverflowError):
            kind = type(value).__name__
            reason = (
                f"a {kind} holds something that is not JSON"
                if isinstance(value, (dict, list, tuple))
                else f"a {kind} is not a JSON value"
            )
            return [FieldError(location, name, reason)]
        except RecursionError:
            return [FieldError(location, name, "value is nested too deeply")]
        if not errors:
            return [FieldError(location, name, "value is invalid")]
        return [
            FieldError(
                location, field_name(field_path([*prefix, *_keys_as_in(value, self._path(e))])), self._describe(e)
            )
            for e in errors
        ]

    def _errors_of(self, value: Any) -> tuple[list[Any], Any]:
        """(errors, the value they are about: ``value`` or its JSON-keyed copy)."""
        try:
            return self._errors(value), value
        except (ValueError, TypeError, OverflowError):
            keyed = json_keyed(value)
            return self._errors(keyed), keyed

    def _errors(self, value: Any) -> list[Any]:
        checked = value if self._member is None else {self._member: value}
        if has_at_most_nodes(value, _EXPLAIN_ALL_UP_TO):
            found = sorted(self._rust.iter_errors(checked), key=_error_order)
            return found[:MAX_REPORTED_ERRORS]
        try:
            self._rust.validate(checked)
        except jsonschema_rs.ValidationError as e:
            return [e]
        return []

    def _path(self, error: Any) -> list[Any]:
        """Where in the value ``error`` is (without the member key a shared validator adds)."""
        path = list(error.instance_path)
        return path if self._member is None else path[1:]

    def _describe(self, error: Any) -> str:
        """The message of one error, shaped by the subschema holding the
        failed keyword (a password's value is never shown)."""
        path = list(error.schema_path)
        node: Any = self._root
        for part in path[:-1]:
            try:
                node = node[int(part)] if isinstance(node, list) else node[part]
            except (KeyError, IndexError, ValueError, TypeError):
                node = {}
                break
        return describe(error.kind, error.instance, node, str(path[-1]) if path else "")


def _keys_as_in(value: Any, path: Iterable[Any]) -> list[Any]:
    """``path`` with object keys as strings (jsonschema-rs gives ``"1"`` as ``1``)."""
    out = []
    for part in path:
        if isinstance(value, dict):
            part = str(part)
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        out.append(part)
    return out


def _error_order(error: Any) -> list[str]:
    return [str(part) for part in error.instance_path]


def compile_validator(
    root: dict[str, Any], formats: FormatRegistry, format_names: Iterable[str], draft: str = DRAFT4
) -> jsonschema_rs.Validator:
    """A jsonschema-rs validator checking exactly klue's formats."""
    # A format klue does not define checks nothing (jsonschema-rs would check
    # some); "regex" keeps jsonschema-rs' own check, the engine patterns run on.
    checks: dict[str, Callable[[str], bool]] = dict.fromkeys(set(format_names) - {"regex"}, _any_string)
    checks.update(formats.checks())
    try:
        return _VALIDATORS[draft](
            root,
            formats=checks,
            validate_formats=True,
            ignore_unknown_formats=True,
            offline=True,
            pattern_options=_PATTERN_OPTIONS,
        )
    except (jsonschema_rs.ValidationError, ValueError) as e:
        raise SchemaCompileError(str(e).split("\n", 1)[0]) from None


_PATTERN_OPTIONS = jsonschema_rs.FancyRegexOptions(backtrack_limit=PATTERN_BACKTRACK_LIMIT)


def _any_string(value: str) -> bool:
    return True


def json_keyed(value: Any) -> Any:
    """A copy of ``value`` with every mapping key a string, as JSON sends it
    (``{1: x}`` -> ``{"1": x}``)."""
    if isinstance(value, dict):
        return {_json_key(k): json_keyed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_keyed(v) for v in value]
    return value


def _json_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    return json.dumps(key) if isinstance(key, (bool, type(None))) else str(key)


def has_at_most_nodes(value: Any, limit: int) -> bool:
    """True when ``value`` holds at most ``limit`` values in all (stops counting past it)."""
    stack, count = [value], 0
    while stack:
        item = stack.pop()
        count += 1
        if count > limit:
            return False
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return True


@functools.lru_cache(maxsize=4096)
def _pattern_validator(pattern: str) -> Any:
    try:
        return jsonschema_rs.Draft4Validator({"pattern": pattern}, pattern_options=_PATTERN_OPTIONS)
    except (jsonschema_rs.ValidationError, ValueError):
        return None


def is_linear_time_pattern(pattern: str) -> bool:
    """True when the engine that validates values can compile ``pattern``."""
    return _pattern_validator(pattern) is not None


def matches_pattern(pattern: str, text: str) -> bool:
    """``text`` matches ``pattern`` as validation reads it (a search, as JSON Schema says)."""
    validator = _pattern_validator(pattern)
    return validator is not None and validator.is_valid(text)


def named_formats(node: Any) -> set[str]:
    """Every ``format`` a schema (and what it contains) names."""
    return {m["format"] for m in _mappings(node) if isinstance(m.get("format"), str)}


def _mappings(node: Any) -> Iterator[dict[str, Any]]:
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
_REF = DEFINITIONS_REF


def default_filler(schema: dict[str, Any], definitions: dict[str, Any]) -> Fill | None:
    """A function writing the ``default`` of each absent property into a
    (valid) value, in place, at any depth; None when the schema declares none.

    Defaults come from ``properties`` reached through ``$ref``, ``allOf``,
    ``items`` and ``additionalProperties``, and through an ``anyOf``/``oneOf``
    whose only non-null branch is an object (a nullable ref); other unions are
    ambiguous and left alone."""
    return _DefaultFillers(definitions).build(schema)


class _DefaultFillers:
    def __init__(self, definitions: dict[str, Any]) -> None:
        self.definitions = definitions
        self.by_ref: dict[str, Fill | None] = {}
        self.building: set[str] = set()

    def build(self, schema: Any) -> Fill | None:
        if not isinstance(schema, dict):
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith(_REF):
            return self._ref(unescape_pointer_token(ref[len(_REF) :]))
        parts = [
            f
            for f in (
                self._object(schema),
                self._items(schema),
                *map(self.build, schema.get("allOf", ())),
                self._union(schema),
            )
            if f is not None
        ]
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
            return self._late_bound(name)
        self.building.add(name)
        try:
            self.by_ref[name] = self.build(self.definitions.get(name))
        finally:
            self.building.discard(name)
        return self.by_ref[name]

    def _late_bound(self, name: str) -> Fill:
        def fill_recursive(value: Any) -> None:
            fill = self.by_ref.get(name)
            if fill is not None:
                fill(value)

        return fill_recursive

    def _object(self, schema: dict[str, Any]) -> Fill | None:
        props = schema.get("properties")
        if not isinstance(props, dict):
            props = {}
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

    def _items(self, schema: dict[str, Any]) -> Fill | None:
        items = schema.get("items")
        prefix = schema.get("prefixItems")  # 2020-12's tuple: "items" is then the schema of the rest
        if isinstance(prefix, list):
            return self._tuple(prefix, items)
        if isinstance(items, list):  # draft 4's tuple: one schema per position
            return self._tuple(items, None)
        each = self.build(items)
        if each is None:
            return None

        def fill_each(value: Any) -> None:
            if isinstance(value, list):
                for item in value:
                    each(item)

        return fill_each

    def _tuple(self, positions: list[Any], rest: Any) -> Fill | None:
        by_position = [self.build(s) for s in positions]
        after = self.build(rest)
        if not any(by_position) and after is None:
            return None
        count = len(by_position)

        def fill_tuple(value: Any) -> None:
            if isinstance(value, list):
                for fill, item in zip(by_position, value, strict=False):
                    if fill is not None:
                        fill(item)
                if after is not None:
                    for item in value[count:]:
                        after(item)

        return fill_tuple

    def _union(self, schema: dict[str, Any]) -> Fill | None:
        branches = union_branches(schema)
        return self.build(branches[0]) if len(branches) == 1 else None


REQUEST, RESPONSE = "request", "response"
#: The property flag each direction treats specially.
_HIDDEN = {REQUEST: "readOnly", RESPONSE: "writeOnly"}


def has_flag(schema: Any, flag: str) -> bool:
    """``readOnly: true`` on the schema or (3.1 ``$ref`` siblings) on one of its ``allOf`` parts."""
    return isinstance(schema, dict) and (
        schema.get(flag) is True or any(has_flag(p, flag) for p in schema.get("allOf", ()))
    )


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
                out["properties"] = {
                    n: ({"not": {}, READ_ONLY_MARK: True} if n in hidden else s) for n, s in out["properties"].items()
                }
    return out


class ValidatorCache:
    """Builds each distinct schema's validator once per API, for requests,
    responses, or neither (``direction``), in the API's JSON Schema ``draft``.

    A schema's jsonschema-rs validator is shared by every ``SchemaValidator`` of
    it (with or without defaults filled; for any direction when the schemas have
    no ``readOnly``/``writeOnly``). jsonschema-rs compiles every definition a
    schema reaches into each validator (on Stripe's spec, about 770 definitions
    for most responses: 25 ms each), so ``prepare`` compiles many schemas into
    one validator, each a property of its root, sharing one compilation of the
    definitions."""

    def __init__(self, definitions: dict[str, Any], formats: FormatRegistry, draft: str = DRAFT4) -> None:
        self.formats = formats
        self.draft = draft
        self._views: dict[str | None, dict[str, Any]] = {None: definitions}
        self._flags = any(f in json.dumps(definitions) for f in ('"readOnly"', '"writeOnly"'))
        self._index = _DefinitionIndex(definitions)
        self._cache: dict[tuple[str, bool, str | None], SchemaValidator] = {}
        #: (canonical JSON of a schema, view) -> its compiled validator.
        self._compiled: dict[tuple[str, str | None], Compiled] = {}

    def _canonical(self, schema: dict[str, Any], direction: str | None) -> tuple[str, str | None]:
        """(the schema's canonical JSON, the view of the definitions it is read with:
        its direction when readOnly/writeOnly make one differ, else None)."""
        text = json.dumps(schema, sort_keys=True, default=str)
        if direction is not None and (self._flags or any(f in text for f in ('"readOnly"', '"writeOnly"'))):
            return text, direction
        return text, None

    def get(
        self, schema: dict[str, Any], *, fill_defaults: bool = False, direction: str | None = None
    ) -> SchemaValidator:
        text, view = self._canonical(schema, direction)
        key = (text, fill_defaults, direction)
        validator = self._cache.get(key)
        if validator is None:
            if view is not None:
                schema, definitions = directional(schema, view), self._view(view)
            else:
                definitions = self._views[None]
            compiled = self._compiled.get((text, view))
            if compiled is None:
                # Only the definitions the schema reaches: compiling a scalar
                # parameter's validator with Stripe's 1,300 definitions took 25 ms.
                names = self._index.reachable(schema)
                reached = definitions if names is None else {n: definitions[n] for n in names}
                validator = SchemaValidator(
                    schema,
                    reached,
                    self.formats,
                    fill_defaults=fill_defaults,
                    format_names=self._index.formats(names) | named_formats(schema),
                    draft=self.draft,
                )
                self._compiled[(text, view)] = validator.compiled
            else:
                validator = SchemaValidator(
                    schema, definitions, self.formats, fill_defaults=fill_defaults, compiled=compiled, draft=self.draft
                )
            self._cache[key] = validator
        return validator

    def prepare(self, schemas: Iterable[tuple[dict[str, Any], str | None]]) -> None:
        """Compile at once, into one validator per view, each (schema, direction)
        given that refers to a definition, and each definition they reach (as a
        ``$ref`` to it: what unions' branch checks ask for), so that ``get`` finds
        them built. Stripe's 1,500 schemas compile in 0.15 s together, against
        17 s one by one. A schema the engine refuses makes them all compiled one
        by one, so that its own error names it."""
        members: dict[str | None, dict[str, dict[str, Any]]] = {}
        reached: dict[str | None, set[str] | None] = {}
        for schema, direction in schemas:
            if _definition_refs(schema) == set():
                continue  # refers to nothing: cheap to compile alone
            text, view = self._canonical(schema, direction)
            if (text, view) not in self._compiled:
                members.setdefault(view, {})[text] = schema
                names, before = self._index.reachable(schema), reached.get(view, set())
                reached[view] = None if names is None or before is None else before | names
        for view, found in members.items():
            names = reached[view]
            definitions = self._views[None] if view is None else self._view(view)
            if names is not None:
                definitions = {n: definitions[n] for n in sorted(names)}
            for name in definitions:
                ref = {"$ref": ref_to(name)}
                if (json.dumps(ref), view) not in self._compiled:
                    found.setdefault(json.dumps(ref), ref)
            texts = list(found)
            props = {str(i): found[t] if view is None else directional(found[t], view) for i, t in enumerate(texts)}
            root = {"$schema": self.draft, "definitions": definitions, "properties": props}
            try:
                rust = compile_validator(
                    root, self.formats, self._index.formats(names) | named_formats(props), self.draft
                )
            except SchemaCompileError:
                continue
            for i, text in enumerate(texts):
                self._compiled[(text, view)] = (rust, root, str(i))

    def _view(self, direction: str) -> dict[str, Any]:
        if direction not in self._views:
            self._views[direction] = {n: directional(s, direction) for n, s in self._views[None].items()}
        return self._views[direction]


class _DefinitionIndex:
    """Which definitions each definition refers to, and which formats it
    names, each found once (specs can be megabytes)."""

    def __init__(self, definitions: dict[str, Any]) -> None:
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
            found.add(unescape_pointer_token(ref[len(_REF) :].split("/", 1)[0]))
    return found


class _Metaschema:
    """Checks that a schema is itself valid JSON Schema of its draft (keyword types,
    patterns the validating engine reads), so a broken spec fails at load
    time, not on a request."""

    _check: jsonschema_rs.Draft4Validator | jsonschema_rs.Draft202012Validator

    def __init__(self, draft: str = DRAFT4) -> None:
        if draft == DRAFT2020:
            # jsonschema-rs holds 2020-12's metaschema and its vocabularies: resolved offline.
            self._check = jsonschema_rs.Draft202012Validator({"$ref": DRAFT2020}, validate_formats=True, offline=True)
            return
        # JSON Schema draft 4's own metaschema (json-schema.org/draft-04/schema), shipped as data.
        meta = json.loads(resources.files(__package__).joinpath("draft4-metaschema.json").read_text("utf-8"))
        meta.pop("id", None)  # refs to "#" stay local
        meta.pop("$schema", None)
        self._check = jsonschema_rs.Draft4Validator(meta, validate_formats=True, offline=True)

    def problems(self, schema: Any) -> list[tuple[list[str | int], str]]:
        """[(path inside the schema, reason)], empty when the schema is valid."""
        try:
            if self._check.is_valid(schema):
                return _pattern_property_problems(schema)
            found = sorted(self._check.iter_errors(schema), key=_error_order)[:MAX_REPORTED_ERRORS]
        except (ValueError, TypeError, OverflowError):
            return [([], "a schema must be JSON (mapping keys are strings)")]
        except RecursionError:
            return [([], "schema is nested too deeply")]
        return [(list(e.instance_path), _schema_message(e)) for e in found]


def _schema_message(error: Any) -> str:
    if type(error.kind).__name__ == "Format" and error.kind.format == "regex":
        return (
            f"{quote(error.instance)} is not a regular expression klue can match "
            "(ECMA 262 syntax, as JSON Schema says; Python-only syntax such as \\Z is not read)"
        )
    return describe(error.kind, error.instance, {})


def _pattern_property_problems(schema: Any) -> list[tuple[list[str | int], str]]:
    """``patternProperties`` keys are patterns too (the metaschema cannot say so)."""
    problems = []
    for path, mapping in _mappings_with_paths(schema):
        props = mapping.get("patternProperties")
        if isinstance(props, dict):
            for key in props:
                if not is_linear_time_pattern(key):
                    problems.append(
                        (
                            [*path, "patternProperties", key],
                            f"{quote(key)} is not a regular expression klue can match (ECMA 262 syntax)",
                        )
                    )
    return problems


def _mappings_with_paths(node: Any) -> Iterator[tuple[list[str | int], dict[str, Any]]]:
    stack: list[tuple[list[str | int], Any]] = [([], node)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            yield path, item
            stack.extend(([*path, k], v) for k, v in item.items() if isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(([*path, i], v) for i, v in enumerate(item) if isinstance(v, (dict, list)))


@functools.lru_cache(maxsize=2)
def _metaschema(draft: str) -> _Metaschema:  # compiled on first use, not at import
    return _Metaschema(draft)


def schema_problems(schema: Any, draft: str = DRAFT4) -> list[tuple[list[str | int], str]]:
    """[(path inside ``schema``, reason)]: how ``schema`` breaks its draft's metaschema."""
    return _metaschema(draft).problems(schema)


def default_problems(
    default: Any, schema: dict[str, Any], *, checked_only_formats: bool = True, draft: str = DRAFT4
) -> str:
    """Why ``default`` does not match ``schema`` ('' when it does), with the built-in formats;
    ``checked_only_formats=False`` leaves out those that are only checked, never converted
    (uri, email...): a default breaking one of those is wrong, but cannot break its conversion."""
    if schema_problems(schema, draft):
        return ""  # the schema's own problems are reported already
    if not checked_only_formats:
        schema = _without_checked_only_formats(schema)
    try:
        validator = SchemaValidator(schema, {}, _builtin_formats(), draft=draft)
        errors = [] if validator.is_valid(default) else validator.explain(default, "", "")
    except SchemaCompileError:
        return ""  # e.g. a $ref the default cannot be checked without
    return "; ".join(f"{e.name}: {e.message}" if e.name else e.message for e in errors)


def _without_checked_only_formats(node: Any) -> Any:
    """``node`` without the ``format`` keywords no converter reads (a property called ``format``
    is a mapping: it stays)."""
    if isinstance(node, dict):
        return {
            k: _without_checked_only_formats(v)
            for k, v in node.items()
            if not (k == "format" and isinstance(v, str) and _builtin_formats().to_python(v) is None)
        }
    if isinstance(node, list):
        return [_without_checked_only_formats(v) for v in node]
    return node


@functools.lru_cache(maxsize=1)
def _builtin_formats() -> FormatRegistry:
    return FormatRegistry()
