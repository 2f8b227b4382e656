"""What building a ``Spec`` means for every version: walking the paths,
bindings, path templates, refs, and collecting every problem with its pointer.

``swagger2.Swagger2Builder`` and ``openapi3.OpenAPI3Builder`` add how their
version writes parameters, bodies, responses and the base URL.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import unquote

from ..exceptions import SpecError, SpecProblem
from ..naming import client_name_problem
from ..schema.messages import quote
from ..schema.view import DEFINITIONS_REF, unescape_pointer_token
from .interface import PATH, PATH_TEMPLATE_VARIABLE, Bindings, Operation, Requirement, SecurityScheme
from .loader import pointer_join, resolve_pointer
from .schema import Dialect, SchemaNormalizer, kind_of
from .security import SecurityReader

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
STATUS = re.compile(r"^(?:[1-5]\d\d|[1-5]XX|default)$")
#: What no route can hold: ``<`` would reach Flask's rule parser (and crash the spawn), the
#: rest never arrives in a request's decoded path. One character class: linear time.
_FORBIDDEN_IN_PATH = re.compile(r"[<>\s#?\x00-\x1f\x7f]")
_PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})?")
#: What a percent-escape may stand for in a route: non-ASCII (UTF-8) and RFC 3986's unreserved.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def decoded_route(text: str) -> tuple[str, str]:
    """(``text`` percent-decoded, '') when a route can match it, else (``text``, why not).

    Routes match the decoded path of a request: ``/v1/%C3%A9`` must be routed as ``/v1/é``
    (which clients send encoded again); an escape of ``/``, ``?``, a space... cannot be."""
    bad = _FORBIDDEN_IN_PATH.search(text)
    if bad:
        return text, f"contains {bad.group()!r}, a character not allowed in a path (<, >, #, ?, whitespace, controls)"
    for escape in _PERCENT_ESCAPE.finditer(text):
        if escape.group(1) is None:
            return text, "has a '%' that does not start a percent-escape like %C3"
        char = chr(int(escape.group(1), 16))
        if char < "\x80" and char not in _UNRESERVED:
            return text, f"percent-encodes {char!r} ({escape.group()}), which a route cannot match"
    try:
        return unquote(text, errors="strict"), ""
    except UnicodeDecodeError:
        return text, "percent-encodes bytes that are not UTF-8"


def named(kind: str, name: str) -> str:
    """How a problem names what it belongs to when that is not an operation: ``definition 'Pet'``."""
    return f"{kind} {quote(name)}"


def owner_label(pointer: str, labels: dict[str, str]) -> str:
    """What the thing at ``pointer`` belongs to: an operation (its label, from ``labels`` by its
    pointer), a path item (its path), a named schema; '' for anything else or the owner itself."""
    tokens = pointer.split("/")[1:]
    if len(tokens) >= 3 and tokens[0] == "paths":
        if tokens[2] in HTTP_METHODS:
            at = f"/paths/{tokens[1]}/{tokens[2]}"
            return labels.get(at) or f"{tokens[2].upper()} {unescape_pointer_token(tokens[1])}"
        return unescape_pointer_token(tokens[1])
    if len(tokens) >= 3 and tokens[0] == "definitions":
        return named("definition", unescape_pointer_token(tokens[1]))
    if len(tokens) >= 4 and tokens[:2] == ["components", "schemas"]:
        return named("definition", unescape_pointer_token(tokens[2]))
    return ""


class SpecBuilder:
    """The version-neutral half of building a ``Spec``; subclasses add ``build`` and ``operation``."""

    dialect: Dialect

    def __init__(self, doc: dict[str, Any], source: str, problems: list[SpecProblem] | None = None) -> None:
        self.doc = doc
        self.source = source
        self.problems: list[SpecProblem] = list(problems or ())
        self.schemas = SchemaNormalizer(doc, self.problems, source, self.dialect)
        self.security = SecurityReader(self, ())
        self.global_security: list[Requirement] = []

    def security_schemes(
        self, raw: Any, pointer: str, key_locations: tuple[str, ...], types: tuple[str, ...]
    ) -> dict[str, SecurityScheme]:
        """Read the declared schemes and the top-level ``security``; call before ``operations``."""
        self.security = SecurityReader(self, key_locations, types)
        schemes = self.security.read_schemes(raw, pointer)
        if "security" in self.doc:
            self.global_security = self.security.read_requirements(self.doc["security"], "/security")
        return schemes

    def problem(self, pointer: str, reason: str, operation: str = "") -> None:
        self.problems.append(SpecProblem(self.source, pointer, reason, operation))

    def raise_problems(self, operations: list[Operation]) -> None:
        """Raise every problem found, if any, each tagged with what it belongs to."""
        if self.problems:
            labels = {op.pointer: op.label for op in operations}
            raise SpecError([self._tagged(p, labels) for p in self.problems])

    def _tagged(self, problem: SpecProblem, labels: dict[str, str]) -> SpecProblem:
        """``problem`` naming its operation (or path, or definition) when its pointer is inside one:
        a schema's problems are found where the schema is, which does not know whose it is."""
        if problem.operation or problem.source != self.source:
            return problem
        owner = owner_label(problem.pointer, labels)
        return dataclasses.replace(problem, operation=owner) if owner else problem

    def routable_base_path(self, base: str, pointer: str) -> str:
        """``base`` (decoded) when every route can start with it, else '' and a problem."""
        decoded, reason = decoded_route(base)
        if not reason and ("{" in decoded or "}" in decoded):
            reason = "holds a '{' or '}': a base path has no template variables"
        if reason:
            self.problem(pointer, f"base path {quote(base)} {reason}")
            return ""
        return decoded

    def mapping(self, value: Any, pointer: str, required: bool = False) -> dict[str, Any]:
        if value is None and not required:
            return {}
        if not isinstance(value, dict):
            self.problem(pointer, "is required" if value is None else f"must be a mapping, not {kind_of(value)}")
            return {}
        return value

    def deref(self, node: Any, pointer: str) -> Any:
        """Follow local refs on a parameter, response or path item; None if broken
        (the loader has reported a ref that does not resolve)."""
        seen = set()
        while isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref in seen:
                self.problem(pointer_join(pointer, "$ref"), f"$ref {ref!r} refers to itself")
                return None
            seen.add(ref)
            try:
                node = resolve_pointer(self.doc, ref[1:])
            except KeyError:
                return None
        return node

    # -- named schemas -----------------------------------------------------------------

    def definitions(self, raw: Any, pointer: str) -> dict[str, dict[str, Any]]:
        defs = {
            name: self.schemas.normalize(schema, pointer_join(pointer, name))
            for name, schema in self.mapping(raw, pointer).items()
        }
        self._check_aliases(defs, pointer)
        self.schemas.check_deep_refs(defs)
        return defs

    def _check_aliases(self, definitions: dict[str, dict[str, Any]], pointer: str) -> None:
        """``A: {$ref: B}``, ``B: {$ref: A}`` describes no value at all."""
        for name in definitions:
            seen, current = [name], definitions[name]
            while set(current) == {"$ref"} and current["$ref"].startswith(DEFINITIONS_REF):
                target = unescape_pointer_token(current["$ref"][len(DEFINITIONS_REF) :])
                if target in seen:
                    self.problem(
                        pointer_join(pointer, name, "$ref"),
                        "definitions refer to each other in a circle: " + " -> ".join([*seen, target]),
                    )
                    break
                seen.append(target)
                current = definitions.get(target, {})

    def persisted(self, raw: Any, pointer: str) -> dict[str, str]:
        persisted = {}
        for name, schema in (raw or {}).items():
            if isinstance(schema, dict) and "x-persist" in schema:
                target = schema["x-persist"]
                if isinstance(target, str) and "." in target:
                    persisted[name] = target
                else:
                    self.problem(
                        pointer_join(pointer, name, "x-persist"),
                        f"x-persist must be a dotted path like 'pkg.module.Class', got {target!r}",
                    )
        return persisted

    # -- operations ---------------------------------------------------------------------

    def operations(self) -> list[Operation]:
        operations: list[Operation] = []
        seen_ids: dict[str, str] = {}
        for path, item in self.mapping(self.doc.get("paths"), "/paths", required=True).items():
            item_pointer = pointer_join("/paths", path)
            if not path.startswith("/"):
                self.problem(item_pointer, f"path {path!r} must start with '/'")
                continue
            decoded, reason = decoded_route(path)
            if not reason and decoded != path:
                reason = f"holds percent-escapes, which no request's decoded path matches: write {quote(decoded)}"
            if reason:
                self.problem(item_pointer, f"path {quote(path)} {reason}")
                continue
            item = self.deref(self.mapping(item, item_pointer), item_pointer) or {}
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                op = self._new_operation(path, method, item[method], item_pointer)
                if op is None:
                    continue
                self.operation(op, item[method], item, item_pointer)
                op.security = self._operation_security(op, item[method])
                self._check_path_template(op)
                self._check_unique_names(op)
                if op.operation_id:
                    if op.operation_id in seen_ids:
                        self.problem(
                            pointer_join(op.pointer, "operationId"),
                            f"operationId {op.operation_id!r} is also used by {seen_ids[op.operation_id]}",
                            op.label,
                        )
                    seen_ids[op.operation_id] = op.label
                operations.append(op)
        return operations

    def _operation_security(self, op: Operation, raw: dict[str, Any]) -> list[Requirement]:
        """The operation's own ``security`` replaces the top-level one; ``[]`` makes it public."""
        if "security" not in raw:
            return list(self.global_security)
        return self.security.read_requirements(raw["security"], pointer_join(op.pointer, "security"), op.label)

    def operation(self, op: Operation, raw: dict[str, Any], item: dict[str, Any], item_pointer: str) -> None:
        """Fill in ``op``'s parameters, body, media types and responses."""
        raise NotImplementedError

    def _new_operation(self, path: str, method: str, raw: Any, item_pointer: str) -> Operation | None:
        pointer = pointer_join(item_pointer, method)
        if not isinstance(raw, dict):
            self.problem(pointer, f"an operation must be a mapping, not {kind_of(raw)}")
            return None
        op_id = raw.get("operationId")
        op = Operation(
            method=method.upper(),
            path=path,
            operation_id=op_id if isinstance(op_id, str) else None,
            pointer=pointer,
            bindings=self._bindings(raw, pointer),
            summary=str(raw.get("summary") or ""),
        )
        if op_id is not None and not isinstance(op_id, str):
            self.problem(pointer_join(pointer, "operationId"), "operationId must be a string", op.label)
        client = op.bindings.client
        if isinstance(client, str) and client.strip() and (reason := client_name_problem(client)):
            self.problem(pointer_join(pointer, "x-bind-client"), reason, op.label)
        return op

    def _bindings(self, raw: dict[str, Any], pointer: str) -> Bindings:
        b = Bindings(
            server=raw.get("x-bind-server"),
            client=raw.get("x-bind-client"),
            no_server=raw.get("x-no-bind-server") is True,
            decorate_server=raw.get("x-decorate-server"),
            decorate_request=raw.get("x-decorate-request"),
        )
        if not isinstance(raw.get("x-no-bind-server", False), bool):
            self.problem(pointer_join(pointer, "x-no-bind-server"), "x-no-bind-server must be true or false")
        for key, value in (
            ("x-bind-server", b.server),
            ("x-bind-client", b.client),
            ("x-decorate-server", b.decorate_server),
            ("x-decorate-request", b.decorate_request),
        ):
            if value is not None and not (isinstance(value, str) and value.strip()):
                self.problem(pointer_join(pointer, key), f"{key} must be a non-empty string")
        return b

    def merged_parameters(
        self, op: Operation, *sources: tuple[str, Any], locations: tuple[str, ...]
    ) -> list[tuple[dict[str, Any], str]]:
        """Path-level then operation-level parameters (the latter win), each with its pointer."""
        merged: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for base, params in sources:
            if not isinstance(params, list):
                self.problem(base, "parameters must be a list", op.label)
                continue
            for i, raw in enumerate(params):
                at = pointer_join(base, i)
                param = self.deref(raw, at)
                if param is None:
                    continue
                if (
                    not isinstance(param, dict)
                    or not isinstance(param.get("name"), str)
                    or param.get("in") not in locations
                ):
                    self.problem(
                        at, "a parameter needs a string 'name' and 'in' one of " + ", ".join(locations), op.label
                    )
                    continue
                merged[(param["name"], param["in"])] = (param, at)
        return list(merged.values())

    def _check_unique_names(self, op: Operation) -> None:
        """Handlers and callers take parameters by name: when two locations use one
        name (Kubernetes has a path and a query parameter 'path'), the one that
        is not in the path becomes ``<location>_<name>``."""
        counts: dict[str, int] = {}
        for p in op.parameters:
            counts[p.name] = counts.get(p.name, 0) + 1
        for p in op.parameters:
            if counts[p.name] > 1 and p.location != PATH:
                p.arg_name = f"{p.location}_{p.name}"
        seen: dict[str, str] = {}
        for p in op.parameters:
            if p.arg_name in seen:
                self.problem(
                    p.pointer,
                    f"parameter {p.name!r} ({p.location}) and one in {seen[p.arg_name]} "
                    f"would both be passed as '{p.arg_name}'",
                    op.label,
                )
            seen[p.arg_name] = p.location

    def _check_path_template(self, op: Operation) -> None:
        variables = PATH_TEMPLATE_VARIABLE.findall(op.path)
        for twice in sorted({v for v in variables if variables.count(v) > 1}):
            self.problem(op.pointer, f"path template variable {{{twice}}} appears more than once", op.label)
        in_template = set(variables)
        declared = {p.name for p in op.parameters if p.location == PATH}
        for missing in sorted(in_template - declared):
            self.problem(op.pointer, f"path template variable {{{missing}}} has no 'in: path' parameter", op.label)
        for extra in sorted(declared - in_template):
            self.problem(op.pointer, f"path parameter {extra!r} does not appear in the path {op.path}", op.label)

    def check_status(self, status: str, where: str, op: Operation) -> bool:
        if STATUS.match(status):
            return True
        self.problem(where, f"{status!r} is not a valid response status", op.label)
        return False
