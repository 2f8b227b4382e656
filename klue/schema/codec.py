"""Converters between JSON values and Python values, compiled per schema.

``decoder(schema)`` turns validated JSON into what handlers and callers see
(model instances, ``date``/``datetime``, user formats' ``to_python``);
``encoder(schema)`` goes back. Both are built once per schema: walking a
schema on every request is what makes unmarshalling slow.
A converter of ``None`` means "nothing to convert here" and is skipped.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Callable, Iterable
from typing import Any, cast

from ..models import Model, fields_of, is_model
from .formats import FormatRegistry
from .validation import REQUEST, RESPONSE, has_flag
from .view import DEFINITIONS_REF, collapsed_properties, is_object_like, primary_type, ref_name, union_branches

Convert = Callable[[Any], Any]
#: A schema -> its compiled check (``is_valid``), to pick a oneOf/anyOf branch.
BranchCheck = Callable[[dict[str, Any]], Callable[[Any], bool]]


class Codec:
    """Builds and caches the decoder and encoder of each schema of one API."""

    def __init__(
        self,
        definitions: dict[str, dict[str, Any]],
        models: dict[str, type],
        formats: FormatRegistry,
        branch_check: BranchCheck,
    ) -> None:
        self.definitions = definitions
        self.models = models
        self.formats = formats
        self.branch_check = branch_check
        self._decoders: dict[str, Convert | None] = {}
        self._encoders: dict[str | None, dict[str, Convert | None]] = {}
        self._building: set[tuple[str, str]] = set()

    def reset(self) -> None:
        """Forget built converters (after model classes changed)."""
        self._decoders.clear()
        self._encoders.clear()

    # -- JSON -> Python -------------------------------------------------------------

    def decoder(self, schema: dict[str, Any] | None) -> Convert | None:
        if not schema:
            return None
        name = ref_name(schema)
        if name is not None:
            return self._by_ref(name, self._decoders, self._build_model_decoder, "decode")
        if is_object_like(schema):
            return self._object_decoder(schema)
        if "prefixItems" in schema:
            return None  # a 2020-12 tuple: validated, items left as JSON gives them
        if schema.get("type") == "array" or "items" in schema:
            return _list_of(self.decoder(schema.get("items")) if isinstance(schema.get("items"), dict) else None)
        if "anyOf" in schema or "oneOf" in schema:
            return self._union(schema, self.decoder)
        return _skip_none(self.formats.to_python(schema.get("format")))

    def _build_model_decoder(self, name: str) -> Convert | None:
        schema = self.definitions.get(name, {})
        polymorphic = self._swagger2_discriminated(name, schema)
        if polymorphic is not None:
            return polymorphic
        return self._model_decoder(name, schema)

    def _model_decoder(self, name: str, schema: dict[str, Any]) -> Convert | None:
        """The definition's model class, its fields converted; a dict converter without one."""
        model = self.models.get(name)
        if model is None:
            return self._object_decoder(schema) if is_object_like(schema) else self.decoder(schema)
        # Every model class is a KlueModel (build_model_classes; ApiPool.merge shares them).
        return cast("type[Model]", model)._klue_decoder(self._fields_converter(schema))

    def _object_decoder(self, schema: dict[str, Any]) -> Convert | None:
        convert_fields = self._fields_converter(schema)
        if convert_fields is None:
            return None

        def decode_object(value: Any) -> Any:
            if not isinstance(value, dict):
                return value
            out = dict(value)
            convert_fields(out)
            return out

        return decode_object

    def _fields_converter(self, schema: dict[str, Any]) -> Callable[[dict[str, Any]], None] | None:
        """A function decoding an object's property values in place; None when none needs it."""
        properties = collapsed_properties(schema, self.definitions)
        per_prop = tuple((k, d) for k, d in ((k, self.decoder(s)) for k, s in properties.items()) if d is not None)
        extra_schema = schema.get("additionalProperties")
        extra = self.decoder(extra_schema) if isinstance(extra_schema, dict) else None
        if not per_prop and extra is None:
            return None
        known = frozenset(properties)

        def convert_fields(fields: dict[str, Any]) -> None:
            for key, convert in per_prop:
                item = fields.get(key)
                if item is not None:
                    fields[key] = convert(item)
            if extra is not None:
                for key in [k for k in fields if k not in known]:
                    item = fields[key]
                    if item is not None:
                        fields[key] = extra(item)

        return convert_fields

    # -- Python -> JSON -------------------------------------------------------------

    def encoder(self, schema: dict[str, Any] | None, direction: str | None = None) -> Convert:
        """Unlike decoders, an encoder is never None: any Python value needs a JSON form.

        For responses, writeOnly properties are left out (a password never
        leaves the server); for requests, readOnly ones (a model fetched from
        a server can be sent back as it is)."""
        if not schema:
            return to_json
        name = ref_name(schema)
        if name is not None:
            cache = self._encoders.setdefault(direction, {})

            def build(n: str) -> Convert:
                return self.encoder(self.definitions.get(n, {}), direction)

            return self._by_ref(name, cache, build, f"encode-{direction}") or to_json
        if is_object_like(schema):
            return self._object_encoder(schema, direction)
        if "prefixItems" in schema:
            return to_json  # a 2020-12 tuple: each item by its type
        if schema.get("type") == "array" or "items" in schema:
            items = self.encoder(schema.get("items"), direction) if isinstance(schema.get("items"), dict) else to_json
            return _list_encoder(items)
        if "anyOf" in schema or "oneOf" in schema:
            return self._union_encoder(schema, direction)
        to_wire = self.formats.to_wire(schema.get("format"))
        if to_wire is None:
            return _integer_to_json if primary_type(schema) == "integer" else to_json
        return _format_encoder(to_wire)

    def _object_encoder(self, schema: dict[str, Any], direction: str | None) -> Convert:
        properties = collapsed_properties(schema, self.definitions)
        flag = {REQUEST: "readOnly", RESPONSE: "writeOnly"}.get(direction or "")
        left_out = frozenset(k for k, s in properties.items() if flag and has_flag(s, flag))
        # None: the value's own JSON form will do (plain scalars are passed as they are).
        per_prop = {
            k: (None if e is to_json else e)
            for k, e in ((k, self.encoder(s, direction)) for k, s in properties.items())
        }
        required = frozenset(self.collect_required(schema))
        extra_schema = schema.get("additionalProperties")
        extra = self.encoder(extra_schema, direction) if isinstance(extra_schema, dict) else None

        def encode_object(value: Any) -> Any:
            items: Iterable[tuple[Any, Any]]
            if is_model(value):
                # A model holds None for every unset property: unset and null look
                # alike, so None is left out unless the property is required.
                items = ((k, v) for k, v in fields_of(value).items() if v is not None or k in required)
            elif isinstance(value, dict):
                items = value.items()
            else:
                return to_json(value)
            out = {}
            for k, v in items:
                if k in left_out:
                    continue
                convert = per_prop.get(k, extra)
                if convert is not None:
                    out[k] = None if v is None else convert(v)
                else:
                    out[k] = v if type(v) in _PLAIN else to_json(v)
            return out

        return encode_object

    def collect_required(self, schema: dict[str, Any], _seen: frozenset[str] = frozenset()) -> set[str]:
        """Required property names of an object schema, through ``allOf`` and refs."""
        name = ref_name(schema)
        if name is not None:
            return set() if name in _seen else self.collect_required(self.definitions.get(name, {}), _seen | {name})
        required = set(schema.get("required") or ())
        for part in schema.get("allOf", ()):
            required |= self.collect_required(part, _seen)
        return required

    # -- shared --------------------------------------------------------------------

    def _by_ref(
        self, name: str, cache: dict[str, Convert | None], build: Callable[[str], Convert | None], kind: str
    ) -> Convert | None:
        if name in cache:
            return cache[name]
        if (kind, name) in self._building:
            # A recursive model: call through the cache, filled once built.
            return _late_bound(cache, name)
        self._building.add((kind, name))
        try:
            cache[name] = build(name)
        finally:
            self._building.discard((kind, name))
        return cache[name]

    def _swagger2_discriminated(self, name: str, schema: dict[str, Any]) -> Convert | None:
        """Swagger 2.0 polymorphism: ``Pet: {discriminator: petType}`` decodes
        ``{"petType": "Dog", ...}`` as the definition ``Dog`` (which extends Pet)."""
        prop = schema.get("discriminator")
        if not isinstance(prop, str):
            return None
        base = self._model_decoder(name, schema)

        def decode_polymorphic(value: Any) -> Any:
            kind = value.get(prop) if isinstance(value, dict) else None
            if isinstance(kind, str) and kind != name and kind in self.definitions:
                convert = self.decoder({"$ref": DEFINITIONS_REF + kind})
                return convert(value) if convert else value
            return base(value) if base else value

        return decode_polymorphic

    def _discriminated(self, schema: dict[str, Any], build: Callable[[dict[str, Any]], Any]) -> Convert | None:
        """OpenAPI 3: pick the ``oneOf``/``anyOf`` branch that the discriminator names."""
        disc = schema.get("discriminator")
        if not isinstance(disc, dict) or not isinstance(disc.get("propertyName"), str):
            return None
        prop, mapping = disc["propertyName"], dict(disc.get("mapping") or {})
        for branch in [*schema.get("oneOf", ()), *schema.get("anyOf", ())]:
            name = ref_name(branch)
            if name is not None:
                mapping.setdefault(name, branch["$ref"])
        converters = {value: build({"$ref": ref}) for value, ref in mapping.items()}
        fallback = self._matching_branch(schema, build)

        def convert_discriminated(value: Any) -> Any:
            convert = converters.get(value.get(prop)) if isinstance(value, dict) else None
            if convert is not None:
                return convert(value)
            return fallback(value) if fallback else value  # no mapping names it: the branch it validates against

        return convert_discriminated

    def _union_encoder(self, schema: dict[str, Any], direction: str | None) -> Convert:
        """A model goes through the branch named after its class; a dict through
        the one its discriminator names; anything else as it is."""
        by_model = {
            name: self.encoder(b, direction) for b in union_branches(schema) if (name := ref_name(b)) is not None
        }

        def branch_encoder(branch: dict[str, Any]) -> Convert:
            return self.encoder(branch, direction)

        by_discriminator = self._discriminated(schema, branch_encoder)

        def encode_union(value: Any) -> Any:
            if is_model(value) and type(value).__name__ in by_model:
                return by_model[type(value).__name__](value)
            if by_discriminator is not None and isinstance(value, dict):
                return by_discriminator(value)
            return to_json(value)

        return encode_union

    def _union(self, schema: dict[str, Any], build: Callable[[dict[str, Any]], Any]) -> Convert | None:
        discriminated = self._discriminated(schema, build)
        if discriminated is not None:
            return _skip_none(discriminated)
        return self._matching_branch(schema, build)

    def _matching_branch(self, schema: dict[str, Any], build: Callable[[dict[str, Any]], Any]) -> Convert | None:
        """Convert with the first ``oneOf``/``anyOf`` branch the value validates against."""
        converters = [(s, build(s)) for s in union_branches(schema)]
        if all(c is None for _, c in converters):
            return None
        if len(converters) == 1:
            return _skip_none(converters[0][1])
        checked = [(self.branch_check(branch), convert) for branch, convert in converters]  # compiled once

        def convert_union(value: Any) -> Any:
            for is_valid, convert in checked:
                if is_valid(value):
                    return convert(value) if convert else value
            return value

        return _skip_none(convert_union)


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _integer_to_json(value: Any) -> Any:
    """``2.0`` for an integer field is sent as ``2``: strict clients refuse ``2.0``."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return to_json(value)


def _list_encoder(items: Convert) -> Convert:
    if items is to_json:  # plain items (strings, numbers...) go as they are, without a call each

        def encode_plain_list(value: Any) -> Any:
            if isinstance(value, (list, tuple)):
                return [v if type(v) in _PLAIN else to_json(v) for v in value]
            return to_json(value)

        return encode_plain_list

    def encode_list(value: Any) -> Any:
        return [items(v) for v in value] if isinstance(value, (list, tuple)) else to_json(value)

    return encode_list


def _format_encoder(to_wire: Convert) -> Convert:
    """A string format's ``to_wire`` (a date to its ISO text...), then plain JSON."""

    def encode_format(value: Any) -> Any:
        return None if value is None else to_json(to_wire(value))

    return encode_format


def _late_bound(cache: dict[str, Convert | None], name: str) -> Convert:
    """The converter of a recursive model, looked up when called: it is still being built now."""

    def convert_recursive(value: Any) -> Any:
        convert = cache[name]
        return convert(value) if convert is not None else value

    return convert_recursive


def _skip_none(convert: Convert | None) -> Convert | None:
    """``convert``, with None passed through as it is (a nullable value)."""
    if convert is None:
        return None

    def convert_unless_none(value: Any) -> Any:
        return None if value is None else convert(value)

    return convert_unless_none


def _list_of(convert: Convert | None) -> Convert | None:
    if convert is None:
        return None

    def decode_list(value: Any) -> Any:
        return [convert(v) for v in value] if isinstance(value, list) else value

    return decode_list


def to_json(value: Any) -> Any:
    """Any value a handler may return -> plain JSON types (schema-less fallback)."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if is_model(value):
        return {k: to_json(v) for k, v in value._as_dict(recursive=False).items() if v is not None}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value  # left for the validator to reject with a clear message
