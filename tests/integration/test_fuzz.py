"""Property-based fuzzing of spawned APIs with schemathesis, in process (WSGI, no network).

Three specs, each served by a fresh Flask app per operation:

* ``demo``: the demo petstore (``specs/petstore.yaml``, ``examples/petstore.py``)
  through ``klue.make_app``, storing pets in a temporary SQLite file;
* ``swagger2`` and ``openapi3``: the test petstores (``tests/specs/petstore.yaml``
  and ``tests/specs/petstore.openapi3.yaml``, handlers in ``tests/handlers/pets.py``).

For every operation schemathesis runs its examples, coverage (boundary values)
and fuzzing phases, with valid (positive) and invalid (negative) inputs, at
most ``KLUE_FUZZ_EXAMPLES`` (30) fuzzed examples per operation, deterministic
(the same cases every run; ``KLUE_FUZZ_RANDOM=1`` explores new ones). Each
response must pass schemathesis' checks: no 5xx, a declared status code, the
declared Content-Type, a body valid against the declared schema, invalid input
rejected with a 4xx and valid input accepted. The one relaxation: a 4xx that
rejects an *invalid* request may be a status the spec does not list (the demo
spec declares no 400); its Content-Type and body are still checked. Where the
checks themselves would be wrong (text encodings that cannot tell an invalid
value from a valid one, Swagger 2.0's ``allowEmptyValue``), ``run_case`` says why.

The number of generated cases, per spec and mode, is printed at the end of the
run, in a "klue fuzz" section of pytest's terminal summary (with or without ``-s``).
"""
from __future__ import annotations

import collections
import json
import os

import pytest
import schemathesis
import yaml
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

import klue
from klue.swagger import ApiPool
from tests.conftest import REPO_ROOT, spec_path

pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(60)]

ROOT = str(REPO_ROOT)
MAX_EXAMPLES = int(os.environ.get("KLUE_FUZZ_EXAMPLES", "30"))
DERANDOMIZE = os.environ.get("KLUE_FUZZ_RANDOM") != "1"

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]

#: Generated cases run, by (spec, mode).
CASES: collections.Counter = collections.Counter()

FORM_MEDIA_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class CurrentApp:
    """The WSGI app schemathesis calls: the one the running test spawned."""

    app: Flask | None = None

    def __call__(self, environ, start_response):
        assert self.app is not None, "no app spawned for this test"
        return self.app(environ, start_response)


def load_schema(path: str, target: CurrentApp):
    schema = schemathesis.openapi.from_path(path)
    schema.app = target
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
                                    max_examples=MAX_EXAMPLES)
    return schema


class Declared:
    """The parameters each operation of a spec declares (name, in, type, allowEmptyValue)."""

    def __init__(self, path: str) -> None:
        with open(path) as f:
            self.doc = yaml.safe_load(f)

    def _resolve(self, item: dict) -> dict:
        while "$ref" in item:
            node = self.doc
            for part in item["$ref"].lstrip("#/").split("/"):
                node = node[part]
            item = node
        return item

    def parameters(self, path: str, method: str) -> list[dict]:
        path_item = self.doc["paths"][path]
        raw = path_item.get("parameters", []) + path_item[method.lower()].get("parameters", [])
        return [self._resolve(p) for p in raw]

    def has_array_in(self, path: str, method: str, location: str) -> bool:
        return any(p["in"] == location and (p.get("type") or p.get("schema", {}).get("type")) == "array"
                   for p in self.parameters(path, method))

    def empty_disallowed(self, path: str, method: str, location: str, name: str) -> bool:
        """Whether the spec forbids ``name=`` (allowEmptyValue, default false, query and formData only)."""
        return any(p["in"] == location and p["name"] == name and p["in"] in ("query", "formData")
                   and p.get("allowEmptyValue") is not True for p in self.parameters(path, method))


DEMO, SWAGGER2, OPENAPI3 = CurrentApp(), CurrentApp(), CurrentApp()
SPEC_FILES = {
    "demo": os.path.join(ROOT, "specs", "petstore.yaml"),
    "swagger2": spec_path("petstore.yaml"),
    "openapi3": spec_path("petstore.openapi3.yaml"),
}
DECLARED = {name: Declared(path) for name, path in SPEC_FILES.items()}
demo_schema = load_schema(SPEC_FILES["demo"], DEMO)
swagger2_schema = load_schema(SPEC_FILES["swagger2"], SWAGGER2)
openapi3_schema = load_schema(SPEC_FILES["openapi3"], OPENAPI3)

#: Bounded: each example has a deadline, and nothing is stored in .hypothesis/.
FUZZ_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=2000,
    derandomize=DERANDOMIZE,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)


class _Summary:
    """Prints the case counts once, at the end of the run."""

    @staticmethod
    def lines() -> list[str]:
        total = sum(CASES.values())
        out = [f"klue fuzz: {total} generated cases (max {MAX_EXAMPLES} fuzzed examples per operation"
               f", {'deterministic' if DERANDOMIZE else 'random'})"]
        for spec in sorted({s for s, _ in CASES}):
            by_mode = {m: n for (s, m), n in CASES.items() if s == spec}
            out.append(f"klue fuzz: {spec}: {sum(by_mode.values())} cases"
                       f" ({by_mode.get('positive', 0)} positive, {by_mode.get('negative', 0)} negative)")
        return out

    def pytest_terminal_summary(self, terminalreporter):
        if CASES:
            terminalreporter.section("klue fuzz")
            for line in self.lines():
                terminalreporter.write_line(line)


@pytest.fixture(scope="module", autouse=True)
def case_summary(request):
    plugins = request.config.pluginmanager
    if not plugins.has_plugin("klue-fuzz-summary"):
        plugins.register(_Summary(), "klue-fuzz-summary")
    yield


@pytest.fixture
def demo_app(tmp_path, monkeypatch):
    monkeypatch.setenv("PETSTORE_DB", str(tmp_path / "petstore.sqlite3"))
    DEMO.app = klue.make_app(os.path.join(ROOT, "specs", "petstore.yaml"), import_path=ROOT)
    yield DEMO.app
    DEMO.app = None


def _spawn_test_petstore(target: CurrentApp, name: str):
    ApiPool.add("petstore", yaml_path=spec_path(name))
    app = Flask("fuzz")
    ApiPool.petstore.spawn_api(app)
    target.app = app
    return app


@pytest.fixture
def swagger2_app():
    yield _spawn_test_petstore(SWAGGER2, "petstore.yaml")
    SWAGGER2.app = None


@pytest.fixture
def openapi3_app():
    yield _spawn_test_petstore(OPENAPI3, "petstore.openapi3.yaml")
    OPENAPI3.app = None


def _empty_value_rejections(spec: str, case, response) -> bool:
    """A 400 whose every error is an empty value the spec forbids: right by Swagger 2.0's
    allowEmptyValue (default false), which schemathesis does not model."""
    if response.status_code != 400:
        return False
    try:
        errors = json.loads(response.content).get("errors") or []
    except ValueError:
        return False
    return bool(errors) and all(
        e.get("message") == "an empty value is not allowed"
        and DECLARED[spec].empty_disallowed(case.operation.path, case.method, e.get("in"), e.get("name"))
        for e in errors)


def run_case(spec: str, case) -> None:
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    CASES[spec, "negative" if negative else "positive"] += 1
    if case.operation.path == "/echo/{name}":
        # tests.handlers.pets.echo answers with whatever status it is asked for;
        # ask only for the ones the spec declares (a non-integer is left to be rejected).
        status = case.query.get("status") if case.query else None
        if isinstance(status, int) and not isinstance(status, bool) and status not in (200, 202):
            case.query["status"] = 200 if status % 2 == 0 else 202
    if spec == "demo" and not negative:
        # the demo's writes need its API key (examples/petstore.py): valid cases carry it,
        # so the handlers behind it are fuzzed too; negative ones keep whatever was drawn
        case.headers = {**(case.headers or {}), "X-API-Key": "demo-key"}
    response = case.call()
    checks = list(CHECKS)
    declared = {str(code) for code in case.operation.responses.status_codes}
    if negative and 400 <= response.status_code < 500 and str(response.status_code) not in declared:
        checks.remove(status_code_conformance)  # an undeclared 4xx rejecting invalid input
    if negative and case.media_type in FORM_MEDIA_TYPES:
        # A form field is text: a "negative" object or number becomes a valid string
        # once encoded, and undeclared form fields are ignored like undeclared query
        # parameters; schemathesis counts both as invalid data accepted.
        checks.remove(negative_data_rejection)
    elif negative and _negated(case, ParameterLocation.QUERY) \
            and DECLARED[spec].has_array_in(case.operation.path, case.method, "query"):
        # Arrays in a query string are text too: '?tags=false' is ["false"], a valid
        # array of strings, and '?codes=' is the empty array (klue/server/request.py),
        # while schemathesis takes it for [""] against the items' pattern.
        checks.remove(negative_data_rejection)
    if not negative and _empty_value_rejections(spec, case, response):
        checks.remove(positive_data_acceptance)
        if status_code_conformance in checks and "400" not in declared:
            checks.remove(status_code_conformance)
    if response.status_code in (204, 304):
        # No content, so no media type (RFC 9110); schemathesis' Swagger 2.0 check
        # still wants one of `produces` on every response.
        assert "Content-Type" not in response.headers and not response.content
        checks.remove(content_type_conformance)
    try:
        case.validate_response(response, checks=checks)
    except Exception as e:
        e.add_note(f"klue fuzz: spec {spec}, operation {case.operation.label}")
        raise


def _negated(case, location) -> bool:
    component = case.meta.components.get(location) if case.meta else None
    return component is not None and component.mode.is_negative


@demo_schema.parametrize()
@FUZZ_SETTINGS
def test_demo_petstore(case, demo_app):
    run_case("demo", case)


@swagger2_schema.parametrize()
@FUZZ_SETTINGS
def test_swagger2_petstore(case, swagger2_app):
    run_case("swagger2", case)


@openapi3_schema.parametrize()
@FUZZ_SETTINGS
def test_openapi3_petstore(case, openapi3_app):
    run_case("openapi3", case)


#: Inputs fuzzing found, replayed every run whatever the generator draws.
#: (spec, operation label, Case arguments, expected status)
FOUND = [
    # OpenAPI 3: a multipart body property is a schema property, and "" is a valid
    # string (no minLength); allowEmptyValue is a query-parameter keyword only.
    ("openapi3", "POST /pets/{pet_id}/photo",
     dict(path_parameters={"pet_id": 0}, media_type="multipart/form-data",
          body={"caption": "", "photo": b"\x89PNG\r\n"}), 200),
    # Swagger 2.0: the same empty formData field is rightly refused (allowEmptyValue
    # defaults to false).
    ("swagger2", "POST /pets/{pet_id}/photo",
     dict(path_parameters={"pet_id": 0}, media_type="multipart/form-data",
          body={"caption": "", "photo": b"\x89PNG\r\n"}), 400),
    # Swagger 2.0 declares produces: [application/json]; a 204 has no body, so it
    # must not claim text/html.
    ("swagger2", "DELETE /pets/{pet_id}",
     dict(path_parameters={"pet_id": 2147483646}, headers={"X-Confirm": "yes"}), 204),
]


@pytest.mark.parametrize("spec, label, arguments, expected", FOUND, ids=[f"{s}-{l}-{e}" for s, l, _, e in FOUND])
def test_found_inputs(spec, label, arguments, expected, request):
    schema = {"swagger2": swagger2_schema, "openapi3": openapi3_schema}[spec]
    request.getfixturevalue(f"{spec}_app")
    case = schema.find_operation_by_label(label).Case(**arguments)
    response = case.call()
    assert response.status_code == expected, response.text
    checks = [c for c in CHECKS if c not in (negative_data_rejection, positive_data_acceptance)]
    if expected == 400 and "400" not in case.operation.responses.status_codes:
        checks.remove(status_code_conformance)
    if expected == 204:
        checks.remove(content_type_conformance)  # no content, no media type (see above)
    case.validate_response(response, checks=checks)
    if expected == 204:
        assert "Content-Type" not in response.headers and not response.content, response.headers
