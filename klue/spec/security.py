"""Security schemes and requirements of a spec, as data (nothing is checked here).

Swagger 2.0 declares schemes in ``securityDefinitions`` (``basic``, ``apiKey``
in a header or the query, ``oauth2``); OpenAPI 3 in
``components/securitySchemes`` (``apiKey`` in a header, the query or a
cookie, ``http`` with any scheme, ``oauth2`` with flows, ``openIdConnect``,
and 3.1's ``mutualTLS``). Both become ``SecurityScheme`` objects; the
top-level ``security`` and each operation's own become lists of alternative
requirements. A requirement naming an undeclared scheme, or an oauth2 scope
no flow declares, is a spec problem: klue would not know what to enforce.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .interface import API_KEY, BASIC, BEARER, HEADER, HTTP_OTHER, MUTUAL_TLS, Requirement, SecurityScheme
from .loader import pointer_join

if TYPE_CHECKING:
    from .builder import SpecBuilder

#: connexion's verifier extensions, by the kind of scheme they sit on.
CONNEXION_BINDINGS = {
    API_KEY: ("x-apikeyInfoFunc",),
    BASIC: ("x-basicInfoFunc",),
    BEARER: ("x-bearerInfoFunc", "x-tokenInfoFunc"),
    HTTP_OTHER: ("x-bearerInfoFunc",),
    MUTUAL_TLS: (),
}
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


class SecurityReader:
    """Reads one document's schemes and requirements, reporting problems to its builder."""

    def __init__(self, builder: SpecBuilder, key_locations: tuple[str, ...], types: tuple[str, ...] = ()) -> None:
        self.builder = builder
        self.key_locations = key_locations  # 2.0: header, query; 3.x: cookie too
        self.types = types  # the scheme types this version knows
        self.schemes: dict[str, SecurityScheme] = {}

    def read_schemes(self, raw: Any, pointer: str) -> dict[str, SecurityScheme]:
        for name, definition in self.builder.mapping(raw, pointer).items():
            at = pointer_join(pointer, name)
            definition = self.builder.deref(definition, at)
            if not isinstance(definition, dict):
                self.builder.problem(at, "a security scheme must be a mapping")
                continue
            scheme = self._scheme(str(name), definition, at)
            if scheme is not None:
                self.schemes[scheme.name] = scheme
        return self.schemes

    def _scheme(self, name: str, raw: dict[str, Any], at: str) -> SecurityScheme | None:
        readers = {
            "apiKey": self._api_key,
            "basic": self._basic,
            "http": self._http,
            "oauth2": self._oauth2,
            "openIdConnect": self._openid,
            "mutualTLS": self._mutual_tls,
        }
        kind_of_type = {t: readers[t] for t in self.types}
        scheme_type: Any = raw.get("type")  # a str when read is not None
        read = kind_of_type.get(scheme_type) if isinstance(scheme_type, str) else None
        if read is None:
            known = ", ".join(kind_of_type)
            self.builder.problem(
                pointer_join(at, "type"), f"security scheme {name!r} has type {scheme_type!r}; known types: {known}"
            )
            return None
        fields = read(name, raw, at)
        if fields is None:
            return None
        kind = fields["kind"]
        return SecurityScheme(
            name=name,
            type=scheme_type,
            pointer=at,
            binding=self._binding(raw, at, "x-bind-security"),
            connexion_binding=self._connexion_binding(raw, at, kind),
            **fields,
        )

    def _api_key(self, name: str, raw: dict[str, Any], at: str) -> dict[str, Any] | None:
        location, parameter = raw.get("in"), raw.get("name")
        if location not in self.key_locations:
            self.builder.problem(
                pointer_join(at, "in"),
                f"apiKey scheme {name!r} needs 'in' one of " + ", ".join(self.key_locations) + f", not {location!r}",
            )
            return None
        if not isinstance(parameter, str) or not parameter.strip():
            self.builder.problem(
                pointer_join(at, "name"), f"apiKey scheme {name!r} needs the 'name' of its {location} parameter"
            )
            return None
        if location == HEADER and not set(parameter) <= _TOKEN_CHARS:
            self.builder.problem(
                pointer_join(at, "name"), f"apiKey scheme {name!r}: {parameter!r} is not a valid header name"
            )
            return None
        if location == HEADER and "_" in parameter:
            self.builder.problem(
                pointer_join(at, "name"),
                f"apiKey scheme {name!r}: header {parameter!r} has an underscore; "
                "WSGI servers and proxies drop such headers or mistake them for dashed ones",
            )
            return None
        return {"kind": API_KEY, "location": location, "parameter": parameter}

    @staticmethod
    def _basic(_name: str, _raw: dict[str, Any], _at: str) -> dict[str, Any]:
        return {"kind": BASIC, "http_scheme": "Basic"}

    def _http(self, name: str, raw: dict[str, Any], at: str) -> dict[str, Any] | None:
        word = raw.get("scheme")
        if not isinstance(word, str) or not word or not set(word) <= _TOKEN_CHARS:
            self.builder.problem(
                pointer_join(at, "scheme"),
                f"http scheme {name!r} needs a 'scheme' such as basic or bearer, not {word!r}",
            )
            return None
        lowered = word.lower()
        if lowered == "basic":
            return {"kind": BASIC, "http_scheme": "Basic"}
        if lowered == "bearer":
            return {"kind": BEARER, "http_scheme": "Bearer"}
        return {"kind": HTTP_OTHER, "http_scheme": word}

    def _oauth2(self, name: str, raw: dict[str, Any], at: str) -> dict[str, Any]:
        scopes: set[str] = set()
        if "flows" in raw:  # OpenAPI 3: a mapping of flows, each with its scopes
            for flow_name, flow in self.builder.mapping(raw.get("flows"), pointer_join(at, "flows")).items():
                flow_at = pointer_join(at, "flows", flow_name)
                if isinstance(flow, dict):
                    scopes.update(self.builder.mapping(flow.get("scopes"), pointer_join(flow_at, "scopes")))
                else:
                    self.builder.problem(flow_at, "an oauth2 flow must be a mapping")
        else:  # Swagger 2.0: one flow, scopes beside it
            scopes.update(self.builder.mapping(raw.get("scopes"), pointer_join(at, "scopes")))
        return {"kind": BEARER, "http_scheme": "Bearer", "scopes": frozenset(map(str, scopes))}

    @staticmethod
    def _openid(_name: str, _raw: dict[str, Any], _at: str) -> dict[str, Any]:
        return {"kind": BEARER, "http_scheme": "Bearer"}  # its scopes live at the provider, not in the spec

    @staticmethod
    def _mutual_tls(_name: str, _raw: dict[str, Any], _at: str) -> dict[str, Any]:
        return {"kind": MUTUAL_TLS, "location": "", "parameter": ""}

    def _binding(self, raw: dict[str, Any], at: str, key: str) -> str | None:
        value = raw.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or "." not in value.strip("."):
            self.builder.problem(
                pointer_join(at, key), f"{key} must be a dotted path like 'pkg.module.verify', not {value!r}"
            )
            return None
        return value

    def _connexion_binding(self, raw: dict[str, Any], at: str, kind: str) -> str | None:
        for key in CONNEXION_BINDINGS[kind]:
            if key in raw:
                return self._binding(raw, at, key)
        return None

    # -- requirements ---------------------------------------------------------------------

    def read_requirements(self, raw: Any, pointer: str, operation: str = "") -> list[Requirement]:
        """A ``security`` list: each requirement's schemes declared, each oauth2 scope too."""
        if not isinstance(raw, list):
            self.builder.problem(pointer, "security must be a list of requirements, like [{api_key: []}]", operation)
            return []
        requirements = []
        for i, requirement in enumerate(raw):
            at = pointer_join(pointer, i)
            if not isinstance(requirement, dict):
                self.builder.problem(
                    at, "a security requirement must be a mapping of scheme names to scope lists", operation
                )
                continue
            requirements.append(
                {
                    str(name): self._scopes(str(name), scopes, pointer_join(at, name), operation)
                    for name, scopes in requirement.items()
                }
            )
        return requirements

    def _scopes(self, name: str, scopes: Any, at: str, operation: str) -> tuple[str, ...]:
        scheme = self.schemes.get(name)
        if scheme is None:
            declared = ", ".join(sorted(self.schemes)) or "none"
            self.builder.problem(
                at,
                f"security requirement names scheme {name!r}, which is not declared (declared: {declared})",
                operation,
            )
        if scopes is None:
            scopes = []
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            self.builder.problem(at, f"the scopes of {name!r} must be a list of strings", operation)
            return ()
        if scheme is not None and scheme.scopes is not None:
            for scope in scopes:
                if scope not in scheme.scopes:
                    known = ", ".join(sorted(scheme.scopes)) or "none"
                    self.builder.problem(
                        at, f"scope {scope!r} is not declared by oauth2 scheme {name!r} (declared: {known})", operation
                    )
        return tuple(dict.fromkeys(scopes))


__all__ = ["CONNEXION_BINDINGS", "SecurityReader"]
