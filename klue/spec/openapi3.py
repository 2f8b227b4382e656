"""OpenAPI 3.0 and 3.1 documents -> the version-neutral ``Spec``.

What is OpenAPI 3's own: ``servers`` (the first one, variables at their
defaults) for the base URL, ``components/schemas`` for models, parameters
with a ``schema`` and ``style``/``explode``, ``requestBody`` by media type,
and responses by media type.

How a request body is read: a JSON media type (``application/json``,
``*/*+json``) makes the handler's positional body argument; otherwise
``application/x-www-form-urlencoded``/``multipart/form-data`` make one form
parameter per property (``format: binary`` ones are files); otherwise the
body is passed as raw bytes.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ..exceptions import SpecError, SpecProblem
from ..schema.messages import quote
from ..schema.view import primary_type, resolve
from ..wire import is_json_media_type
from .builder import SpecBuilder
from .interface import (
    COOKIE,
    FORM,
    FORM_MEDIA_TYPES,
    HEADER,
    JSON_MEDIA_TYPE,
    MISSING,
    PATH,
    PATH_TEMPLATE_VARIABLE,
    QUERY,
    Body,
    Operation,
    Parameter,
    ResponseSpec,
    Spec,
)
from .loader import pointer_join
from .schema import OPENAPI30, OPENAPI31

PARAM_LOCATIONS = (PATH, QUERY, HEADER, COOKIE)
_VERSION = re.compile(r"^3\.([01])\.\d+")
_DEFAULT_STYLE = {QUERY: "form", COOKIE: "form", PATH: "simple", HEADER: "simple"}
_ARRAY_STYLES = {"simple": "csv", "spaceDelimited": "ssv", "pipeDelimited": "pipes"}


def schema_section(_doc: dict[str, Any]) -> tuple[str, ...]:
    return ("components", "schemas")


class OpenAPI3Builder(SpecBuilder):
    """Builds a ``Spec`` from one bundled OpenAPI 3.0 or 3.1 document."""

    dialect = OPENAPI30

    def __init__(self, doc: dict[str, Any], source: str, problems: list[SpecProblem] | None = None) -> None:
        version = str(doc.get("openapi"))
        match = _VERSION.match(version)
        if not match:
            raise SpecError.single(source, "/openapi", f"OpenAPI {version} is not supported (3.0.x and 3.1.x are)")
        self.dialect = OPENAPI31 if match.group(1) == "1" else OPENAPI30
        self.version = version
        super().__init__(doc, source, problems)

    def build(self) -> Spec:
        doc = self.doc
        info = self.mapping(doc.get("info"), "/info", required=True)
        components = self.mapping(doc.get("components"), "/components")
        raw_schemas = self.mapping(components.get("schemas"), "/components/schemas")
        definitions = self.named = self.definitions(raw_schemas, "/components/schemas")
        security_schemes = self.security_schemes(
            components.get("securitySchemes"),
            "/components/securitySchemes",
            (HEADER, QUERY, COOKIE),
            ("apiKey", "http", "oauth2", "openIdConnect", "mutualTLS"),
        )
        if "paths" not in doc and self.dialect is OPENAPI31:
            doc.setdefault("paths", {})  # 3.1 allows webhooks-only documents
        operations = self.operations()
        persisted = self.persisted(raw_schemas, "/components/schemas")
        host, schemes, base_path = self._server()
        self.raise_problems(operations)
        return Spec(
            source=self.source,
            version=self.version,
            document=doc,
            info=info,
            base_path=base_path,
            host=host,
            schemes=schemes,
            definitions=definitions,
            operations=operations,
            persisted_models=persisted,
            security_schemes=security_schemes,
            json_schema=self.dialect.draft,
        )

    def _server(self) -> tuple[str | None, tuple[str, ...], str]:
        """(host, schemes, base path) of the first server, its variables at their defaults."""
        servers = self.doc.get("servers")
        if not servers:
            return None, (), ""
        server: Any = servers[0] if isinstance(servers, list) else None  # a dict when url is a str
        url = server.get("url") if isinstance(server, dict) else None
        if not isinstance(url, str):
            self.problem("/servers/0/url", "a server needs a url")
            return None, (), ""
        variables = server.get("variables") or {}
        if not isinstance(variables, dict):
            self.problem("/servers/0/variables", "server variables must be a mapping of names to variables")
            variables = {}
        for name, variable in variables.items():
            default = variable.get("default") if isinstance(variable, dict) else None
            if default is None:
                self.problem(pointer_join("/servers/0/variables", name), "a server variable needs a default")
                continue
            url = url.replace("{" + name + "}", str(default))
        undeclared = PATH_TEMPLATE_VARIABLE.findall(url)
        for name in undeclared:
            self.problem("/servers/0/url", f"server url variable {quote(name)} is not declared in its variables")
        if undeclared:
            return None, (), ""
        try:
            parts = urlsplit(url)
        except ValueError as e:  # http://[::1/x
            self.problem("/servers/0/url", f"server url {quote(url)} is not a URL: {e}")
            return None, (), ""
        if parts.query or parts.fragment or url.endswith(("?", "#")):
            self.problem("/servers/0/url", f"server url {quote(url)} has a query or a fragment: a base URL has neither")
        base_path = parts.path.rstrip("/")
        if base_path and not base_path.startswith("/"):
            base_path = "/" + base_path
        base_path = self.routable_base_path(base_path, "/servers/0/url")
        return parts.netloc or None, (parts.scheme,) if parts.scheme else (), base_path

    # -- operations ---------------------------------------------------------------------

    def operation(self, op: Operation, raw: dict[str, Any], item: dict[str, Any], item_pointer: str) -> None:
        for param, at in self.merged_parameters(
            op,
            (pointer_join(item_pointer, "parameters"), item.get("parameters", [])),
            (pointer_join(op.pointer, "parameters"), raw.get("parameters", [])),
            locations=PARAM_LOCATIONS,
        ):
            self._parameter(op, param, at)
        op.consumes = (JSON_MEDIA_TYPE,)
        if "requestBody" in raw:
            self._request_body(op, raw["requestBody"], pointer_join(op.pointer, "requestBody"), raw)
        op.responses = self._responses(op, raw.get("responses"))

    def _parameter(self, op: Operation, raw: dict[str, Any], at: str) -> None:
        name, location = raw["name"], raw["in"]
        required = raw.get("required", False) is True
        if location == PATH and not required:
            self.problem(pointer_join(at, "required"), f"path parameter {name!r} must be required: true", op.label)
        collection = "csv"
        if "content" in raw:  # the value is a whole document, e.g. JSON in a query parameter
            media, content = next(iter((raw.get("content") or {"": {}}).items()))
            schema = self.schemas.normalize(
                (content or {}).get("schema", {}), pointer_join(at, "content", media, "schema")
            )
            collection = "json"
        else:
            schema = self.schemas.normalize(raw.get("schema", {}), pointer_join(at, "schema"))
            collection = self._collection_format(raw, location, schema, at, op)
        default = schema.get("default", MISSING)  # checked with the schema
        op.parameters.append(
            Parameter(
                name=name,
                location=location,
                schema=schema,
                required=required or location == PATH,
                default=default,
                collection_format=collection,
                pointer=at,
                allow_empty=raw.get("allowEmptyValue") is True,
            )
        )

    def _collection_format(
        self, raw: dict[str, Any], location: str, schema: dict[str, Any], at: str, op: Operation
    ) -> str:
        """How OpenAPI 3's style/explode puts a value in one string (as Swagger 2.0's collectionFormat)."""
        style = raw.get("style", _DEFAULT_STYLE[location])
        explode = raw.get("explode", style == "form")
        if style == "form" and location in (PATH, HEADER):
            self.problem(
                pointer_join(at, "style"), f"style 'form' is for query and cookie parameters, not {location}", op.label
            )
            return "csv"
        if style == "deepObject":
            return "deepObject"
        kind = self._type_of(schema)
        if kind == "array":
            if style == "form":
                return "multi" if explode else "csv"
            if style in _ARRAY_STYLES:
                return _ARRAY_STYLES[style]
        if kind == "object" and style == "form" and explode:
            return "form-object"  # each property its own query key
        return "csv"

    def _type_of(self, schema: dict[str, Any]) -> str | None:
        return primary_type(resolve(schema, self.named))

    def _request_body(self, op: Operation, raw: Any, at: str, operation: dict[str, Any]) -> None:
        body = self.deref(raw, at)
        if body is None:
            return
        content = body.get("content") if isinstance(body, dict) else None
        if not isinstance(content, dict) or not content:
            self.problem(pointer_join(at, "content"), "a requestBody needs a content map of media types", op.label)
            return
        media_types = tuple(m.split(";")[0].strip().lower() for m in content)
        raw_by_type = dict(zip(media_types, content.values(), strict=False))
        required = body.get("required", False) is True
        name = operation.get("x-body-name", "body")
        json_types = tuple(m for m in media_types if is_json_media_type(m))
        form_types = tuple(m for m in media_types if m in FORM_MEDIA_TYPES)
        if json_types:
            chosen = json_types[0]
            schema = self._media_schema(raw_by_type[chosen], pointer_join(at, "content", chosen))
            others = tuple(m for m in media_types if m not in json_types and m not in FORM_MEDIA_TYPES)
            op.body = Body(name, schema, required, json_types, at, other_media_types=others)
            op.consumes = json_types + others
        elif form_types:
            chosen = form_types[0]
            schema = self._media_schema(raw_by_type[chosen], pointer_join(at, "content", chosen))
            self._form_parameters(op, schema, pointer_join(at, "content", chosen, "schema"), required)
            op.consumes = form_types
        else:  # octet-stream, text, XML...: the handler gets the bytes
            op.body = Body(name=name, schema={}, required=required, media_types=media_types, pointer=at, raw=True)
            op.consumes = media_types

    def _media_schema(self, media: Any, at: str) -> dict[str, Any]:
        schema = media.get("schema") if isinstance(media, dict) else None
        return self.schemas.normalize(schema, pointer_join(at, "schema")) if schema is not None else {}

    def _form_parameters(self, op: Operation, schema: dict[str, Any], at: str, body_required: bool) -> None:
        schema = resolve(schema, self.named)
        required = set(schema.get("required") or ())
        for prop, sub in (schema.get("properties") or {}).items():
            is_file = self._type_of(sub) == "string" and sub.get("format") in ("binary", "base64")
            kind = self._type_of(sub)
            op.parameters.append(
                Parameter(
                    name=prop,
                    location=FORM,
                    schema={} if is_file else sub,
                    required=body_required and prop in required,
                    default=sub.get("default", MISSING),
                    collection_format="multi" if kind == "array" else "csv",
                    is_file=is_file,
                    pointer=pointer_join(at, "properties", prop),
                    allow_empty=True,  # allowEmptyValue is about query parameters; "" is a string like any other
                )
            )

    def _responses(self, op: Operation, raw: Any) -> dict[str, ResponseSpec]:
        """An operation's responses by status. OpenAPI 3.1 lets an operation declare none: its
        success is then undeclared, and the server sends what the handler returns unvalidated
        (status 200 unless the handler says otherwise), the client hands over the JSON it gets."""
        at = pointer_join(op.pointer, "responses")
        if raw is None and self.dialect is OPENAPI31:
            return {}
        if not isinstance(raw, dict) or not raw:
            self.problem(at, "an operation must declare at least one response", op.label)
            return {}
        responses: dict[str, ResponseSpec] = {}
        produces: list[str] = []
        for status, response in raw.items():
            where = pointer_join(at, status)
            if status.startswith("x-") or not self.check_status(status, where, op):
                continue
            response = self.deref(response, where)
            if not isinstance(response, dict):
                continue
            content = response.get("content")
            if not isinstance(content, dict):
                content = {}
            by_type = {m.split(";")[0].strip().lower(): media for m, media in content.items()}
            produces.extend(t for t in by_type if t not in produces)
            chosen = next((m for m in by_type if is_json_media_type(m)), None)
            media = by_type.get(chosen) if chosen else None
            has_schema = isinstance(media, dict) and "schema" in media
            schema = self._media_schema(media, pointer_join(where, "content", chosen)) if has_schema else None
            responses[status] = ResponseSpec(
                status, schema, str(response.get("description") or ""), _examples(chosen, media), tuple(by_type)
            )
        op.produces = tuple(sorted(produces, key=lambda m: not is_json_media_type(m))) or (JSON_MEDIA_TYPE,)
        return responses


def _examples(media_type: str | None, media: Any) -> dict[str, Any]:
    if not media_type or not isinstance(media, dict):
        return {}
    if "example" in media:
        return {media_type: media["example"]}
    examples = media.get("examples")
    if isinstance(examples, dict):
        for example in examples.values():
            if isinstance(example, dict) and "value" in example:
                return {media_type: example["value"]}
    return {}


def build_spec(doc: dict[str, Any], source: str, problems: list[SpecProblem] | None = None) -> Spec:
    """Build the Spec of a bundled document; ``problems`` are those found while bundling."""
    return OpenAPI3Builder(doc, source, problems).build()
