"""The version-neutral shape of a loaded spec: what server and client consume.

Each spec version (``swagger2``, later ``openapi3``) turns its document into
these objects. Schemas here are already normalised to JSON Schema draft 4
with local ``#/definitions/<Name>`` refs, so the validators, converters,
server and client never ask which version they got.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..schema.view import DRAFT4


class _Missing:
    """The type of ``MISSING``: falsy, and shown as ``MISSING``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: Marks "no default declared" (``None`` is a legitimate default).
MISSING: Any = _Missing()

#: Parameter locations, with the words used in error messages.
PATH, QUERY, HEADER, COOKIE, FORM, BODY = "path", "query", "header", "cookie", "formData", "body"

JSON_MEDIA_TYPE = "application/json"
FORM_MEDIA_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

#: What joins an array's items in one value, by ``Parameter.collection_format``
#: (``multi`` repeats the parameter; ``json`` and the object formats have none).
COLLECTION_SEPARATORS = {"csv": ",", "ssv": " ", "tsv": "\t", "pipes": "|"}
#: A ``{name}`` of a path template (``/pets/{pet_id}``).
PATH_TEMPLATE_VARIABLE = re.compile(r"{([^{}/]+)}")


T = TypeVar("T")


def by_status(declared: Mapping[str, T], status: int) -> T | None:
    """What is declared for ``status``: exact (``404``), then a range (``4XX``), then ``default``."""
    key = str(status)
    found = declared.get(key)
    if found is None:
        found = declared.get(key[0] + "XX")
    if found is None:
        found = declared.get("default")
    return found


@dataclass
class Parameter:
    """A path, query, header, cookie or form parameter."""

    name: str
    location: str
    schema: dict[str, Any]
    required: bool = False
    default: Any = MISSING
    #: How the value travels: an array in one string (csv, ssv, tsv, pipes),
    #: as a repeated key (multi); an object as ``name[key]=value`` keys
    #: (deepObject) or as its own keys (form-object); or as JSON text (json).
    collection_format: str = "csv"
    is_file: bool = False
    pointer: str = ""
    #: Whether ``?name=`` (an empty value) is allowed.
    allow_empty: bool = False
    #: The keyword argument handlers and callers use: the name, or
    #: ``<location>_<name>`` when a path parameter has the same name.
    arg_name: str = ""

    def __post_init__(self) -> None:
        self.arg_name = self.arg_name or self.name


@dataclass
class Body:
    """The JSON request body: passed to handlers as the first positional argument."""

    name: str
    schema: dict[str, Any]
    required: bool = False
    media_types: tuple[str, ...] = (JSON_MEDIA_TYPE,)
    pointer: str = ""
    #: Not JSON (octet-stream, text...): handlers get the bytes, callers send bytes or text.
    raw: bool = False
    #: Beside JSON, the other media types it may come as (XML, text...): handed over as
    #: they came, ``str`` for ``text/*``, ``bytes`` otherwise, unvalidated.
    other_media_types: tuple[str, ...] = ()


@dataclass
class ResponseSpec:
    """One declared response; ``schema`` is None when it declares no body."""

    status: str  # "200", "default"
    schema: dict[str, Any] | None
    description: str = ""
    #: Example bodies by media type, as the spec gives them.
    examples: dict[str, Any] = field(default_factory=dict)
    #: The media types its content map declares (OpenAPI 3); empty: the operation's ``produces``.
    media_types: tuple[str, ...] = ()


@dataclass
class Bindings:
    """The ``x-*`` extensions that tie an operation to Python code."""

    server: str | None = None
    client: str | None = None
    no_server: bool = False
    decorate_server: str | None = None
    decorate_request: str | None = None


#: What kind of credential a security scheme asks for, whatever the spec calls it.
API_KEY, BASIC, BEARER, HTTP_OTHER, MUTUAL_TLS = "apiKey", "basic", "bearer", "http", "mutualTLS"

#: A security requirement: scheme name -> the scopes it needs. An operation's
#: ``security`` lists alternatives; ``{}`` among them makes credentials optional.
Requirement = dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class SecurityScheme:
    """One declared security scheme, reduced to where its credential travels and how.

    ``kind`` is what klue checks: ``apiKey`` (``location``/``parameter`` say where),
    ``basic``, ``bearer`` (http bearer, oauth2 and openIdConnect alike),
    ``http`` (another ``Authorization`` scheme, ``http_scheme`` names it) or
    ``mutualTLS``; ``type`` is the spec's own word, for messages.
    """

    name: str
    kind: str
    type: str
    location: str = HEADER
    parameter: str = "Authorization"
    #: The word before the credential in ``Authorization``: ``Basic``, ``Bearer``...
    http_scheme: str = ""
    #: The scopes the spec declares (oauth2); None when it cannot say (others, openIdConnect).
    scopes: frozenset[str] | None = None
    #: ``x-bind-security``: the dotted path of its verifier.
    binding: str | None = None
    #: connexion's ``x-apikeyInfoFunc``/``x-basicInfoFunc``/``x-bearerInfoFunc``/``x-tokenInfoFunc``.
    connexion_binding: str | None = None
    pointer: str = ""

    @property
    def label(self) -> str:
        """How messages name it: ``api_key (apiKey in header X-API-Key)``."""
        if self.kind == API_KEY:
            return f"{self.name} (apiKey in {self.location} {self.parameter})"
        if self.kind == MUTUAL_TLS:
            return f"{self.name} (mutualTLS)"
        return f"{self.name} ({self.type}, Authorization: {self.http_scheme})"


@dataclass
class Operation:
    """One method on one path, fully resolved."""

    method: str  # upper case
    path: str  # as in the spec, without the base path: /pets/{id}
    operation_id: str | None
    pointer: str  # /paths/~1pets~1{id}/get
    parameters: list[Parameter] = field(default_factory=list)
    body: Body | None = None
    consumes: tuple[str, ...] = (JSON_MEDIA_TYPE,)
    produces: tuple[str, ...] = (JSON_MEDIA_TYPE,)
    responses: dict[str, ResponseSpec] = field(default_factory=dict)
    bindings: Bindings = field(default_factory=Bindings)
    summary: str = ""
    #: Alternative security requirements (any one passing is enough); [] is public.
    security: list[Requirement] = field(default_factory=list)

    @property
    def is_public(self) -> bool:
        """No credential is needed: no requirement, or an empty one among them."""
        return not self.security or any(not r for r in self.security)

    @property
    def label(self) -> str:
        """How errors and logs name this operation: ``GET /pets/{id} (getPet)``."""
        name = f" ({self.operation_id})" if self.operation_id else ""
        return f"{self.method} {self.path}{name}"

    @property
    def form_parameters(self) -> list[Parameter]:
        return [p for p in self.parameters if p.location == FORM]

    @property
    def success_status(self) -> int:
        """200 when declared, else the lowest declared 2xx, else 200."""
        codes = sorted(int(s) for s in self.responses if s.isdigit() and s.startswith("2"))
        if not codes or 200 in codes:
            return 200
        return codes[0]

    def response_for(self, status: int) -> ResponseSpec | None:
        return by_status(self.responses, status)


@dataclass
class Spec:
    """A loaded spec of any version, reduced to what klue needs."""

    source: str
    version: str  # "2.0", "3.0.3", "3.1.0"
    document: dict[str, Any]  # the bundled document, as served at swagger.json
    info: dict[str, Any]
    base_path: str  # "" or "/api": always without trailing slash
    host: str | None
    schemes: tuple[str, ...]
    definitions: dict[str, dict[str, Any]]  # normalised schemas by model name
    operations: list[Operation]
    #: Model name -> dotted path of its ``x-persist`` class.
    persisted_models: dict[str, str] = field(default_factory=dict)
    #: Declared security schemes by name (``securityDefinitions``, ``components/securitySchemes``).
    security_schemes: dict[str, SecurityScheme] = field(default_factory=dict)
    #: The JSON Schema draft ``definitions`` and every schema here are written in (``$schema``):
    #: draft 4 for Swagger 2.0 and OpenAPI 3.0, 2020-12 for OpenAPI 3.1.
    json_schema: str = DRAFT4

    @property
    def title(self) -> str:
        return str(self.info.get("title", ""))

    @property
    def api_version(self) -> str:
        return str(self.info.get("version", ""))
