"""Security schemes enforced by spawn_api: credentials, verifiers, 401/403, principals, logs, mock mode."""
import base64
import io
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import Flask

import klue
from klue.exceptions import (
    BindingError,
    Forbidden,
    KlueException,
    NotFound,
    SpecError,
    Unauthorized,
    UnboundSecurityError,
    ValidationError,
)
from klue.security import api_keys, basic_users
from klue.swagger import ApiPool
from tests.handlers import secured
from tests.live import live

WHOAMI = "tests.handlers.secured.whoami"
OK = '{"200": {description: ok}}'

# -- specs ------------------------------------------------------------------------------


def _paths(ops: dict, handler: str = WHOAMI) -> str:
    """``{path: security-yaml or None}`` -> flow-style YAML ``paths`` lines (GET operations)."""
    lines = []
    for path, security in ops.items():
        sec = f"security: {security}, " if security is not None else ""
        lines.append(f"  {path}: {{get: {{{sec}x-bind-server: {handler}, responses: {OK}}}}}")
    return "\n".join(lines) + "\n"


COMMON_OPS = {
    "/global": None,  # the top-level security: [{key: []}]
    "/public": "[]",
    "/key": "[{key: []}]",
    "/qkey": "[{qkey: []}]",
    "/basic": "[{basic: []}]",
    "/read": "[{oauth: [read]}]",
    "/write": "[{oauth: [read, write]}]",
    "/either": "[{key: []}, {basic: []}]",
    "/both": "[{qkey: [], key: []}]",
    "/optional": "[{key: []}, {}]",
    "/optional-bearer": "[{oauth: []}, {}]",
}

SWAGGER2 = """
swagger: "2.0"
info: {title: secured, version: "1"}
basePath: /api
securityDefinitions:
  key: {type: apiKey, in: header, name: X-API-Key}
  qkey: {type: apiKey, in: query, name: k}
  basic: {type: basic}
  oauth:
    type: oauth2
    flow: application
    tokenUrl: https://auth.example/token
    scopes: {read: read things, write: write things}
security: [{key: []}]
paths:
""" + _paths(COMMON_OPS) + """
  /upload:
    post:
      security: [{key: []}]
      x-bind-server: tests.handlers.secured.accept
      parameters:
        - in: body
          name: body
          required: true
          schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses: {"200": {description: ok}}
"""

OPENAPI3 = """
openapi: 3.0.3
info: {title: secured, version: "1"}
servers: [{url: /api}]
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-API-Key}
    qkey: {type: apiKey, in: query, name: k}
    ckey: {type: apiKey, in: cookie, name: sid}
    basic: {type: http, scheme: basic}
    bearer: {type: http, scheme: bearer, bearerFormat: JWT}
    token: {type: http, scheme: Token}
    oauth:
      type: oauth2
      flows:
        clientCredentials: {tokenUrl: "https://auth.example/token", scopes: {read: read things}}
        authorizationCode:
          authorizationUrl: https://auth.example/authorize
          tokenUrl: https://auth.example/token
          scopes: {write: write things}
    oidc: {type: openIdConnect, openIdConnectUrl: "https://auth.example/.well-known/openid-configuration"}
    mtls: {type: mutualTLS}
security: [{key: []}]
paths:
""" + _paths({**COMMON_OPS, "/ckey": "[{ckey: []}]", "/bearer": "[{bearer: []}]", "/token": "[{token: []}]",
              "/oidc": "[{oidc: []}]", "/mtls": "[{mtls: []}]", "/roles": "[{key: [admin]}]"}) + """
  /upload:
    post:
      security: [{key: []}]
      x-bind-server: tests.handlers.secured.accept
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses: {"200": {description: ok}}
"""

SPECS = {"swagger2": SWAGGER2, "openapi3": OPENAPI3}


# -- verifiers ----------------------------------------------------------------------------


class ScopedUser:
    """A principal that carries its scopes as an attribute."""

    def __init__(self, name, scopes):
        self.name, self.scopes = name, scopes


class Verifiers:
    """One verifier per scheme; each call is recorded as (scheme, credential, required_scopes)."""

    def __init__(self):
        self.calls = []

    def _record(self, scheme, credential, scopes):
        self.calls.append((scheme, credential, scopes))

    def key(self, api_key, required_scopes):
        self._record("key", api_key, required_scopes)
        if api_key == "good-key":
            return {"name": "alice", "via": "key"}
        if api_key == "admin-key":
            return {"name": "root", "scopes": ["admin"]}
        if api_key == "user-key":
            return {"name": "user", "scopes": []}
        return None

    def qkey(self, api_key, required_scopes):
        self._record("qkey", api_key, required_scopes)
        return {"name": "bob", "via": "qkey"} if api_key == "good-q" else None

    def ckey(self, api_key, required_scopes):
        self._record("ckey", api_key, required_scopes)
        return {"name": "carol", "via": "cookie"} if api_key == "good-cookie" else None

    def basic(self, username, password, required_scopes):
        self._record("basic", (username, password), required_scopes)
        return {"name": username, "via": "basic"} if (username, password) == ("alice", "pa:ss") else None

    def oauth(self, token, required_scopes):
        self._record("oauth", token, required_scopes)
        return {
            "read-token": {"sub": "reader", "scopes": ["read"]},
            "rw-token": {"sub": "writer", "scope": "read write"},
            "noscope-token": {"sub": "trusting"},
        }.get(token)

    def bearer(self, token, required_scopes):
        self._record("bearer", token, required_scopes)
        return {"sub": "bee"} if token == "good-bearer" else None

    def token(self, token, required_scopes):
        self._record("token", token, required_scopes)
        return {"sub": "tok"} if token == "good-token" else None

    def oidc(self, token, required_scopes):
        self._record("oidc", token, required_scopes)
        return {"sub": "oidc-user"} if token == "good-oidc" else None

    def mtls(self, cert, required_scopes):
        self._record("mtls", cert, required_scopes)
        return {"cn": "client"} if cert == "CERT-PEM" else None

    def bound(self, version):
        names = ["key", "qkey", "basic", "oauth"]
        if version == "openapi3":
            names += ["ckey", "bearer", "token", "oidc", "mtls"]
        return {name: getattr(self, name) for name in names}


@pytest.fixture(autouse=True)
def _reset_handlers():
    secured.reset()
    yield
    secured.reset()


@pytest.fixture(params=sorted(SPECS))
def version(request):
    return request.param


@pytest.fixture
def verifiers():
    return Verifiers()


def spawn(spec, security=None, name="secured", **options):
    api = ApiPool.add(name, yaml_str=spec)
    app = Flask(name)
    api.spawn_api(app, security=security, **options)
    return app


@pytest.fixture
def client(version, verifiers):
    return spawn(SPECS[version], verifiers.bound(version)).test_client()


@pytest.fixture
def client3(verifiers):
    return spawn(OPENAPI3, verifiers.bound("openapi3")).test_client()


def basic(user_pass: bytes) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(user_pass).decode()}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def challenges(response) -> list:
    return response.headers.getlist("WWW-Authenticate")


def assert_problem(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["status"] == status and body["code"] == code
    assert {"type", "title", "detail"} <= set(body)
    return body


def rules(app):
    """The operations' routes (not the docs' ones)."""
    return [r for r in app.url_map.iter_rules() if r.endpoint.startswith("klue.") and "/" in r.endpoint]


KEY_CHALLENGE = 'ApiKey realm="secured", in="header", name="X-API-Key"'
QKEY_CHALLENGE = 'ApiKey realm="secured", in="query", name="k"'
BASIC_CHALLENGE = 'Basic realm="secured", charset="UTF-8"'
BEARER_CHALLENGE = 'Bearer realm="secured"'
INVALID_TOKEN = 'Bearer realm="secured", error="invalid_token"'


# -- api keys -------------------------------------------------------------------------------

def test_header_api_key(client, verifiers):
    r = client.get("/api/key", headers={"X-API-Key": "good-key"})
    assert r.status_code == 200
    assert r.get_json()["principal"] == {"name": "alice", "via": "key"}
    assert verifiers.calls == [("key", "good-key", [])]
    assert client.get("/api/key", headers={"x-api-key": "good-key"}).status_code == 200  # header names ignore case


def test_header_api_key_missing_or_wrong_is_401_with_challenge(client, verifiers):
    for headers in ({}, {"X-API-Key": ""}, {"X-API-Key": "wrong"}, {"X-Other": "good-key"}):
        r = client.get("/api/key", headers=headers)
        assert_problem(r, 401, "UNAUTHORIZED")
        assert challenges(r) == [KEY_CHALLENGE]
    assert verifiers.calls == [("key", "wrong", [])]  # absent and empty keys never reach the verifier
    assert secured.calls == []


def test_query_api_key(client, verifiers):
    r = client.get("/api/qkey?k=good-q")
    assert r.status_code == 200 and r.get_json()["principal"] == {"name": "bob", "via": "qkey"}
    r = client.get("/api/qkey", headers={"X-API-Key": "good-key"})  # the right key, in the wrong place
    assert_problem(r, 401, "UNAUTHORIZED")
    assert challenges(r) == [QKEY_CHALLENGE]
    r = client.get("/api/qkey?k=bad")
    assert r.status_code == 401 and challenges(r) == [QKEY_CHALLENGE]
    assert verifiers.calls == [("qkey", "good-q", []), ("qkey", "bad", [])]


def test_query_api_key_given_twice_is_refused_without_asking_the_verifier(client, verifiers):
    r = client.get("/api/qkey?k=good-q&k=good-q")
    assert_problem(r, 401, "UNAUTHORIZED")
    r = client.get("/api/qkey?k=good-q&k=other")
    assert r.status_code == 401
    assert verifiers.calls == [] and secured.calls == []


def test_cookie_api_key(client3, verifiers):
    client3.set_cookie("sid", "good-cookie")
    r = client3.get("/api/ckey")
    assert r.status_code == 200 and r.get_json()["principal"] == {"name": "carol", "via": "cookie"}
    client3.set_cookie("sid", "stale")
    r = client3.get("/api/ckey")
    assert_problem(r, 401, "UNAUTHORIZED")
    assert challenges(r) == ['ApiKey realm="secured", in="cookie", name="sid"']
    client3.delete_cookie("sid")
    assert client3.get("/api/ckey", headers={"X-API-Key": "good-key"}).status_code == 401
    assert verifiers.calls == [("ckey", "good-cookie", []), ("ckey", "stale", [])]


def test_too_long_credentials_are_refused_without_asking_the_verifier(client, verifiers):
    long = "a" * 8193
    assert client.get("/api/key", headers={"X-API-Key": long}).status_code == 401
    assert client.get(f"/api/qkey?k={long}").status_code == 401
    assert client.get("/api/basic", headers=basic(b"alice:" + b"p" * 9000)).status_code == 401
    assert client.get("/api/read", headers=bearer(long)).status_code == 401
    assert verifiers.calls == [] and secured.calls == []
    # 8192 characters is still a credential the verifier hears about
    assert client.get("/api/key", headers={"X-API-Key": "a" * 8192}).status_code == 401
    assert verifiers.calls == [("key", "a" * 8192, [])]


@pytest.mark.filterwarnings("ignore:The 'sid' cookie is too large")
def test_too_long_cookie_is_refused_without_asking_the_verifier(client3, verifiers):
    client3.set_cookie("sid", "c" * 8193)
    assert client3.get("/api/ckey").status_code == 401
    assert verifiers.calls == []


# -- basic ----------------------------------------------------------------------------------

def test_basic_passes_username_and_password_split_at_the_first_colon(client, verifiers):
    r = client.get("/api/basic", headers=basic(b"alice:pa:ss"))
    assert r.status_code == 200 and r.get_json()["principal"] == {"name": "alice", "via": "basic"}
    assert verifiers.calls == [("basic", ("alice", "pa:ss"), [])]
    r = client.get("/api/basic", headers={"Authorization": "basic " + base64.b64encode(b"alice:pa:ss").decode()})
    assert r.status_code == 200  # the scheme word is case-insensitive


def test_basic_wrong_password_is_401_with_basic_challenge(client, verifiers):
    r = client.get("/api/basic", headers=basic(b"alice:nope"))
    body = assert_problem(r, 401, "UNAUTHORIZED")
    assert challenges(r) == [BASIC_CHALLENGE]
    assert "nope" not in r.get_data(as_text=True) and "alice" not in body["detail"]
    assert verifiers.calls == [("basic", ("alice", "nope"), [])]
    r = client.get("/api/basic")
    assert r.status_code == 401 and challenges(r) == [BASIC_CHALLENGE]


@pytest.mark.parametrize("header", [
    "Basic !!!not-base64!!!",
    "Basic " + base64.b64encode(b"alicepass").decode(),  # no colon
    "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),  # not UTF-8
    "Basic",
    "Basic    ",
    "Basic YWxpY2U6cGE6c3M",  # bad padding
])
def test_malformed_basic_is_401_without_asking_the_verifier(client, verifiers, header):
    r = client.get("/api/basic", headers={"Authorization": header})
    assert_problem(r, 401, "UNAUTHORIZED")
    assert challenges(r) == [BASIC_CHALLENGE]
    assert verifiers.calls == [] and secured.calls == []


def test_basic_empty_username_and_password_reach_the_verifier(client, verifiers):
    assert client.get("/api/basic", headers=basic(b":")).status_code == 401
    assert verifiers.calls == [("basic", ("", ""), [])]


def test_another_authorization_scheme_counts_as_absent(client, verifiers):
    r = client.get("/api/basic", headers=bearer("rw-token"))
    assert r.status_code == 401 and challenges(r) == [BASIC_CHALLENGE]
    r = client.get("/api/read", headers=basic(b"alice:pa:ss"))
    assert r.status_code == 401 and challenges(r) == [BEARER_CHALLENGE]  # no error="invalid_token": none was given
    assert verifiers.calls == []


# -- bearer, oauth2, openIdConnect, other http schemes ----------------------------------------

def test_http_bearer(client3, verifiers):
    r = client3.get("/api/bearer", headers=bearer("good-bearer"))
    assert r.status_code == 200 and r.get_json()["principal"] == {"sub": "bee"}
    r = client3.get("/api/bearer")
    assert_problem(r, 401, "UNAUTHORIZED")
    assert challenges(r) == [BEARER_CHALLENGE]
    r = client3.get("/api/bearer", headers=bearer("forged"))
    assert_problem(r, 401, "UNAUTHORIZED")
    assert challenges(r) == [INVALID_TOKEN]
    assert "forged" not in r.get_data(as_text=True)
    assert verifiers.calls == [("bearer", "good-bearer", []), ("bearer", "forged", [])]


def test_bearer_without_a_token_is_refused(client3, verifiers):
    for header in ("Bearer", "Bearer   "):
        r = client3.get("/api/bearer", headers={"Authorization": header})
        assert r.status_code == 401
    assert verifiers.calls == []


def test_open_id_connect(client3, verifiers):
    r = client3.get("/api/oidc", headers=bearer("good-oidc"))
    assert r.status_code == 200 and r.get_json()["principal"] == {"sub": "oidc-user"}
    r = client3.get("/api/oidc")
    assert r.status_code == 401 and challenges(r) == [BEARER_CHALLENGE]
    r = client3.get("/api/oidc", headers=bearer("bad"))
    assert r.status_code == 401 and challenges(r) == [INVALID_TOKEN]
    assert verifiers.calls == [("oidc", "good-oidc", []), ("oidc", "bad", [])]


def test_an_unusual_http_scheme_reads_its_own_authorization_word(client3, verifiers):
    r = client3.get("/api/token", headers={"Authorization": "Token good-token"})
    assert r.status_code == 200 and r.get_json()["principal"] == {"sub": "tok"}
    assert client3.get("/api/token", headers={"Authorization": "token good-token"}).status_code == 200
    r = client3.get("/api/token", headers=bearer("good-token"))  # Bearer is not Token
    assert r.status_code == 401 and challenges(r) == ['Token realm="secured"']
    r = client3.get("/api/token", headers={"Authorization": "Token bad"})
    assert r.status_code == 401 and challenges(r) == ['Token realm="secured"']
    assert verifiers.calls == [("token", "good-token", []), ("token", "good-token", []), ("token", "bad", [])]


def test_mutual_tls_reads_the_servers_client_certificate(client3, verifiers):
    r = client3.get("/api/mtls", environ_overrides={"SSL_CLIENT_CERT": "CERT-PEM"})
    assert r.status_code == 200 and r.get_json()["principal"] == {"cn": "client"}
    r = client3.get("/api/mtls")
    assert_problem(r, 401, "UNAUTHORIZED")
    assert challenges(r) == []  # no challenge can ask for a TLS certificate
    r = client3.get("/api/mtls", headers={"SSL-Client-Cert": "CERT-PEM"})  # a header is not the TLS layer
    assert r.status_code == 401
    assert verifiers.calls == [("mtls", "CERT-PEM", [])]


def test_oauth2_scopes_are_passed_and_enforced(client, verifiers):
    r = client.get("/api/read", headers=bearer("read-token"))
    assert r.status_code == 200 and r.get_json()["principal"] == {"sub": "reader", "scopes": ["read"]}
    r = client.get("/api/write", headers=bearer("rw-token"))  # "scope": "read write", a string
    assert r.status_code == 200
    assert verifiers.calls == [("oauth", "read-token", ["read"]), ("oauth", "rw-token", ["read", "write"])]
    assert len(secured.calls) == 2


def test_oauth2_scopes_short_is_403_with_insufficient_scope(client, verifiers):
    r = client.get("/api/write", headers=bearer("read-token"))
    body = assert_problem(r, 403, "FORBIDDEN")
    assert challenges(r) == ['Bearer realm="secured", error="insufficient_scope", scope="read write"']
    assert "write" in body["detail"]
    assert secured.calls == []


def test_oauth2_unknown_token_is_401_invalid_token(client):
    r = client.get("/api/write", headers=bearer("nope"))
    assert_problem(r, 401, "UNAUTHORIZED")
    assert challenges(r) == [INVALID_TOKEN]
    r = client.get("/api/write")
    assert r.status_code == 401 and challenges(r) == [BEARER_CHALLENGE]


def test_a_principal_without_scopes_is_trusted_to_have_checked_them(client, verifiers):
    r = client.get("/api/write", headers=bearer("noscope-token"))
    assert r.status_code == 200
    assert verifiers.calls == [("oauth", "noscope-token", ["read", "write"])]


@pytest.mark.parametrize("principal, status", [
    (ScopedUser("o", ["read", "write"]), 200),
    (ScopedUser("o", ("read",)), 403),
    ({"scope": "write read extra"}, 200),
    ({"scope": ""}, 403),
    ({"scopes": []}, 403),
    ({"scopes": {"read", "write"}}, 200),
])
def test_scopes_from_keys_or_attributes_lists_or_strings(principal, status):
    app = spawn(SWAGGER2, {"oauth": lambda token, scopes: principal, "key": lambda k, s: None,
                           "qkey": lambda k, s: None, "basic": lambda u, p, s: None})
    r = app.test_client().get("/api/write", headers=bearer("any"))
    assert r.status_code == status
    assert len(secured.calls) == (1 if status == 200 else 0)


def test_scopes_on_an_api_key_requirement(client3):
    assert client3.get("/api/roles", headers={"X-API-Key": "admin-key"}).status_code == 200
    r = client3.get("/api/roles", headers={"X-API-Key": "user-key"})
    assert_problem(r, 403, "FORBIDDEN")
    assert challenges(r) == []  # insufficient_scope is a bearer error; an api key has none
    assert client3.get("/api/roles", headers={"X-API-Key": "no-such-key"}).status_code == 401


def test_verifier_raising_unauthorized_or_forbidden():
    def refuse(token, scopes):
        raise Unauthorized("token revoked")

    def forbid(token, scopes):
        raise Forbidden("account suspended")

    for verify, status, code, header in ((refuse, 401, "UNAUTHORIZED", INVALID_TOKEN),
                                         (forbid, 403, "FORBIDDEN", None)):
        ApiPool.clear()
        app = spawn(SWAGGER2, {"oauth": verify, "key": lambda k, s: None, "qkey": lambda k, s: None,
                               "basic": lambda u, p, s: None})
        r = app.test_client().get("/api/read", headers=bearer("tok"))
        assert_problem(r, status, code)
        if header:
            assert challenges(r) == [header]
    assert secured.calls == []


# -- several requirements ------------------------------------------------------------------

def test_alternatives_any_one_is_enough(client, verifiers):
    r = client.get("/api/either", headers={"X-API-Key": "good-key"})
    assert r.status_code == 200 and r.get_json()["principal"]["via"] == "key"
    r = client.get("/api/either", headers=basic(b"alice:pa:ss"))
    assert r.status_code == 200 and r.get_json()["principal"]["via"] == "basic"
    assert r.get_json()["principals"] == {"basic": {"name": "alice", "via": "basic"}}
    r = client.get("/api/either", headers={"X-API-Key": "bad", **basic(b"alice:pa:ss")})
    assert r.status_code == 200 and r.get_json()["principal"]["via"] == "basic"


def test_alternatives_none_given_is_401_with_every_challenge(client):
    r = client.get("/api/either")
    assert_problem(r, 401, "UNAUTHORIZED")
    assert challenges(r) == [KEY_CHALLENGE, BASIC_CHALLENGE]
    r = client.get("/api/either", headers={"X-API-Key": "bad", **basic(b"alice:bad")})
    assert r.status_code == 401 and challenges(r) == [KEY_CHALLENGE, BASIC_CHALLENGE]
    assert secured.calls == []


def test_schemes_of_one_requirement_must_all_pass(client, verifiers):
    assert client.get("/api/both", headers={"X-API-Key": "good-key"}).status_code == 401
    assert client.get("/api/both?k=good-q").status_code == 401
    assert client.get("/api/both?k=bad", headers={"X-API-Key": "good-key"}).status_code == 401
    assert client.get("/api/both?k=good-q", headers={"X-API-Key": "bad"}).status_code == 401
    assert secured.calls == []
    r = client.get("/api/both?k=good-q", headers={"X-API-Key": "good-key"})
    assert r.status_code == 200
    body = r.get_json()
    assert body["principals"] == {"qkey": {"name": "bob", "via": "qkey"}, "key": {"name": "alice", "via": "key"}}
    # the first scheme of the requirement as the spec lists it (qkey), not the alphabetical first
    assert body["principal"] == body["get_principal"] == {"name": "bob", "via": "qkey"}


def test_and_requirement_401_lists_both_challenges(client):
    r = client.get("/api/both", headers={"X-API-Key": "good-key"})
    assert set(challenges(r)) == {QKEY_CHALLENGE, KEY_CHALLENGE}


def test_top_level_security_applies_and_security_empty_list_makes_public(client, verifiers):
    assert client.get("/api/global").status_code == 401
    r = client.get("/api/global", headers={"X-API-Key": "good-key"})
    assert r.status_code == 200 and r.get_json()["principal"] == {"name": "alice", "via": "key"}
    verifiers.calls.clear()
    r = client.get("/api/public", headers={"X-API-Key": "wrong"})  # credentials on a public operation are ignored
    assert r.status_code == 200
    body = r.get_json()
    assert body["get_principal"] is None and body["swagger_get_principal"] is None
    assert verifiers.calls == []
    assert client.get("/api/public").status_code == 200


def test_operation_security_replaces_the_top_level(client):
    # /basic declares its own security: the top-level api key neither suffices nor is needed
    assert client.get("/api/basic", headers={"X-API-Key": "good-key"}).status_code == 401
    assert client.get("/api/basic", headers=basic(b"alice:pa:ss")).status_code == 200


def test_g_principal_is_none_on_a_public_operation():
    spec = SWAGGER2.replace("/public: {get: {security: [], x-bind-server: tests.handlers.secured.whoami",
                            "/public: {get: {security: [], x-bind-server: tests.handlers.secured.strict_whoami")
    assert "strict_whoami" in spec
    app = spawn(spec, Verifiers().bound("swagger2"))
    r = app.test_client().get("/api/public")
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"principal": None}


def test_optional_credentials_anonymous(client, verifiers):
    r = client.get("/api/optional")
    assert r.status_code == 200
    body = r.get_json()
    assert body["principal"] is None and body["get_principal"] is None and body["principals"] == {}
    assert verifiers.calls == []


def test_optional_credentials_given_and_valid(client):
    r = client.get("/api/optional", headers={"X-API-Key": "good-key"})
    assert r.status_code == 200 and r.get_json()["principal"] == {"name": "alice", "via": "key"}
    assert r.get_json()["principals"] == {"key": {"name": "alice", "via": "key"}}


def test_optional_credentials_given_and_refused_is_still_401(client):
    r = client.get("/api/optional", headers={"X-API-Key": "wrong"})
    assert_problem(r, 401, "UNAUTHORIZED")
    assert challenges(r) == [KEY_CHALLENGE]
    r = client.get("/api/optional-bearer", headers=bearer("forged"))
    assert r.status_code == 401 and challenges(r) == [INVALID_TOKEN]
    r = client.get("/api/optional-bearer", headers={"Authorization": "Bearer"})  # there, but unreadable
    assert r.status_code == 401
    assert secured.calls == []
    assert client.get("/api/optional-bearer", headers=bearer("read-token")).status_code == 200


# -- principal ----------------------------------------------------------------------------

def test_principal_every_way_a_handler_can_read_it(client):
    r = client.get("/api/key", headers={"X-API-Key": "good-key"})
    body = r.get_json()
    alice = {"name": "alice", "via": "key"}
    assert body == {"principal": alice, "get_principal": alice, "swagger_get_principal": alice, "principals": {"key": alice}}
    assert klue.get_principal() is None  # outside a request


def test_principals_do_not_leak_between_concurrent_requests():
    users = {f"key-{i}": {"name": f"user-{i}"} for i in range(24)}
    app = spawn(SWAGGER2, {"key": api_keys(users), "qkey": lambda k, s: None, "basic": lambda u, p, s: None,
                           "oauth": lambda t, s: None})
    with live(app) as server, requests.Session() as s:
        def ask(key):
            r = s.get(f"{server.url}/api/key", headers={"X-API-Key": key}, timeout=5)
            return r.status_code, r.json()["principal"]

        with ThreadPoolExecutor(8) as pool:
            results = list(pool.map(ask, list(users) * 2))
    assert results == [(200, users[k]) for k in list(users) * 2]


def test_ready_made_api_keys_and_basic_users_verifiers():
    from werkzeug.security import generate_password_hash

    app = spawn(SWAGGER2, {"key": api_keys({"k1": {"name": "svc"}}), "qkey": api_keys({"q1": "q"}),
                           "basic": basic_users({"alice": generate_password_hash("pw", method="pbkdf2:sha256:1000"),
                                                 "bob": "plain"}),
                           "oauth": lambda t, s: None})
    c = app.test_client()
    assert c.get("/api/key", headers={"X-API-Key": "k1"}).get_json()["principal"] == {"name": "svc"}
    assert c.get("/api/key", headers={"X-API-Key": "k2"}).status_code == 401
    assert c.get("/api/basic", headers=basic(b"alice:pw")).get_json()["principal"] == "alice"
    assert c.get("/api/basic", headers=basic(b"bob:plain")).get_json()["principal"] == "bob"
    assert c.get("/api/basic", headers=basic(b"bob:wrong")).status_code == 401
    assert c.get("/api/basic", headers=basic(b"carol:plain")).status_code == 401


# -- the body is not read before security passes -------------------------------------------

class RecordingInput(io.BytesIO):
    """A wsgi.input that remembers whether anything read it."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.reads = 0

    def read(self, *args):
        self.reads += 1
        return super().read(*args)

    def readline(self, *args):
        self.reads += 1
        return super().readline(*args)

    def readinto(self, b):
        self.reads += 1
        return super().readinto(b)

    def __iter__(self):
        self.reads += 1
        return super().__iter__()


def test_refused_requests_never_read_or_validate_the_body(client):
    body = b'{"nope": 1}'  # invalid for the schema: a 400 if it were validated
    for headers in ({}, {"X-API-Key": "wrong"}):
        stream = RecordingInput(body)
        r = client.post("/api/upload", data=body, content_type="application/json", headers=headers,
                        environ_overrides={"wsgi.input": stream})
        assert_problem(r, 401, "UNAUTHORIZED")
        assert stream.reads == 0
    # the recorder works: with the key, the body is read and validated
    stream = RecordingInput(body)
    r = client.post("/api/upload", data=body, content_type="application/json", headers={"X-API-Key": "good-key"},
                    environ_overrides={"wsgi.input": stream})
    assert r.status_code == 400 and stream.reads > 0
    good = b'{"name": "x"}'
    r = client.post("/api/upload", data=good, content_type="application/json", headers={"X-API-Key": "good-key"})
    assert r.status_code == 200 and len(secured.calls) == 1


def test_verifier_exception_leaves_the_body_unread():
    def broken(api_key, scopes):
        raise RuntimeError("the key store is down")

    app = spawn(SWAGGER2, {"key": broken, "qkey": lambda k, s: None, "basic": lambda u, p, s: None,
                           "oauth": lambda t, s: None})
    stream = RecordingInput(b'{"name": "x"}')
    r = app.test_client().post("/api/upload", data=b'{"name": "x"}', content_type="application/json",
                               headers={"X-API-Key": "k"}, environ_overrides={"wsgi.input": stream})
    assert r.status_code == 500 and stream.reads == 0 and secured.calls == []


def _raw_request(port: int, request: bytes, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return head + b"\r\n\r\n" + rest


def test_live_401_comes_before_a_large_body_is_sent(version, verifiers):
    app = spawn(SPECS[version], verifiers.bound(version))
    with live(app) as server:
        started = time.monotonic()
        raw = _raw_request(server.port, (
            b"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000000\r\nX-API-Key: wrong\r\n\r\n"))
        elapsed = time.monotonic() - started
    assert raw.startswith(b"HTTP/1.1 401"), raw[:200]
    assert b"UNAUTHORIZED" in raw
    assert KEY_CHALLENGE.encode() in raw
    assert elapsed < 3, elapsed
    assert secured.calls == []


# -- verifier failures -----------------------------------------------------------------------

def test_verifier_exception_is_a_logged_500_without_details(caplog):
    def broken(token, scopes):
        raise RuntimeError("database password is hunter2")

    app = spawn(SWAGGER2, {"oauth": broken, "key": lambda k, s: None, "qkey": lambda k, s: None,
                           "basic": lambda u, p, s: None})
    caplog.set_level(logging.INFO, logger="klue.server")
    r = app.test_client().get("/api/read", headers=bearer("tok-value-1234"))
    body = assert_problem(r, 500, "INTERNAL_ERROR")
    text = r.get_data(as_text=True)
    assert "hunter2" not in text and "Traceback" not in text and "RuntimeError" not in text
    assert "tok-value-1234" not in text
    assert "WWW-Authenticate" not in r.headers
    assert secured.calls == []
    errors = [rec for rec in caplog.records if rec.name == "klue.server" and rec.levelno == logging.ERROR]
    # the log says which scheme, what was raised and where, but never the exception's text
    # (it may quote the credential: KeyError('sk_live_...'))
    assert errors and errors[0].exc_info and errors[0].exc_info[0].__name__ == "VerifierError"
    assert "scheme 'oauth' raised RuntimeError at " in caplog.text and "(broken)" in caplog.text
    assert "tok-value-1234" not in caplog.text and "hunter2" not in caplog.text
    assert body["detail"] == "The server could not handle this request; the server log has the details."


def test_a_verifier_exception_quoting_the_credential_keeps_it_out_of_the_log(caplog):
    keys = {"known": {"name": "ann"}}
    app = spawn(SWAGGER2, {"key": lambda k, s: keys[k], "qkey": lambda k, s: None, "basic": lambda u, p, s: None,
                           "oauth": lambda t, s: None})
    caplog.set_level(logging.INFO)
    r = app.test_client().get("/api/key", headers={"X-API-Key": "sk_live_TOPSECRET"})
    assert r.status_code == 500
    assert "sk_live_TOPSECRET" not in caplog.text and "sk_live_TOPSECRET" not in r.get_data(as_text=True)


def test_verifier_exception_on_an_optional_operation_is_not_anonymous_access():
    def broken(api_key, scopes):
        raise KeyError("x")

    app = spawn(SWAGGER2, {"key": broken, "qkey": lambda k, s: None, "basic": lambda u, p, s: None,
                           "oauth": lambda t, s: None})
    c = app.test_client()
    assert c.get("/api/optional", headers={"X-API-Key": "k"}).status_code == 500
    assert c.get("/api/optional").status_code == 200  # nothing given: the verifier is not asked
    assert len(secured.calls) == 1


def test_verifier_raising_forbidden_on_an_optional_operation_is_403_not_anonymous():
    def forbid(credential, scopes):
        raise Forbidden("account suspended")

    app = spawn(SWAGGER2, {"key": forbid, "oauth": forbid, "qkey": lambda k, s: None, "basic": lambda u, p, s: None})
    c = app.test_client()
    assert_problem(c.get("/api/optional", headers={"X-API-Key": "k"}), 403, "FORBIDDEN")
    assert_problem(c.get("/api/optional-bearer", headers=bearer("t")), 403, "FORBIDDEN")
    assert secured.calls == []


@pytest.mark.parametrize("error", [
    NotFound("no such user alice"),
    ValidationError("user alice is locked"),
])
def test_verifier_raising_another_klue_exception_is_a_500(error):
    def broken(token, scopes):
        raise error

    app = spawn(SWAGGER2, {"oauth": broken, "key": lambda k, s: None, "qkey": lambda k, s: None,
                           "basic": lambda u, p, s: None})
    r = app.test_client().get("/api/read", headers=bearer("t"))
    assert_problem(r, 500, "INTERNAL_ERROR")
    assert "alice" not in r.get_data(as_text=True)  # nothing of the verifier's trouble reaches the client
    assert secured.calls == []


def test_verifier_returning_false_refuses():
    app = spawn(SWAGGER2, {"key": lambda k, s: False, "qkey": lambda k, s: 0, "basic": lambda u, p, s: None,
                           "oauth": lambda t, s: None})
    c = app.test_client()
    assert c.get("/api/key", headers={"X-API-Key": "k"}).status_code == 401
    # a falsy principal other than None/False is a principal
    r = c.get("/api/qkey?k=x")
    assert r.status_code == 200 and r.get_json()["principal"] == 0


# -- binding verifiers ---------------------------------------------------------------------------

BINDING = """
swagger: "2.0"
info: {title: b, version: "1"}
securityDefinitions:
  key:
    type: apiKey
    in: header
    name: X-API-Key
%(key_ext)s
  basic:
    type: basic
%(basic_ext)s
  oauth:
    type: oauth2
    flow: implicit
    authorizationUrl: https://auth.example/authorize
    scopes: {read: r, write: w}
%(oauth_ext)s
paths:
  /key: {get: {operationId: getKey, security: [{key: []}], x-bind-server: tests.handlers.secured.whoami, responses: {"200": {description: ok}}}}
  /key2: {get: {security: [{key: []}], x-bind-server: tests.handlers.secured.whoami, responses: {"200": {description: ok}}}}
  /basic: {get: {security: [{basic: []}], x-bind-server: tests.handlers.secured.whoami, responses: {"200": {description: ok}}}}
  /read: {get: {security: [{oauth: [read]}], x-bind-server: tests.handlers.secured.whoami, responses: {"200": {description: ok}}}}
  /open: {get: {x-bind-server: tests.handlers.secured.whoami, responses: {"200": {description: ok}}}}
"""


def binding_spec(key="", basic="", oauth=""):
    def ext(lines):
        return "\n".join(f"    {line}" for line in lines.split(";") if line)

    return BINDING % {"key_ext": ext(key), "basic_ext": ext(basic), "oauth_ext": ext(oauth)}


def test_spawn_refuses_unbound_schemes_naming_schemes_and_operations():
    api = ApiPool.add("b", yaml_str=binding_spec())
    app = Flask("b")
    with pytest.raises(UnboundSecurityError) as e:
        api.spawn_api(app)
    assert isinstance(e.value, BindingError)
    assert e.value.schemes == {"key": ["GET /key (getKey)", "GET /key2"], "basic": ["GET /basic"], "oauth": ["GET /read"]}
    message = str(e.value)
    for part in ("key", "basic", "oauth", "GET /key (getKey)", "GET /key2", "GET /basic", "GET /read"):
        assert part in message
    assert rules(app) == []
    assert "klue" not in app.extensions or not app.extensions["klue"].apis
    # a partial security= still lists what is left
    with pytest.raises(UnboundSecurityError) as e:
        api.spawn_api(app, security={"key": lambda k, s: None})
    assert set(e.value.schemes) == {"basic", "oauth"}
    assert rules(app) == []
    # nothing half-spawned: a complete spawn on the same app works
    api.spawn_api(app, security={"key": lambda k, s: None, "basic": lambda u, p, s: None, "oauth": lambda t, s: None})
    assert len(rules(app)) == 5


def test_unbound_security_error_names_each_operation_once():
    spec = """
swagger: "2.0"
info: {title: d, version: "1"}
securityDefinitions:
  key: {type: apiKey, in: header, name: X-API-Key}
  basic: {type: basic}
paths:
""" + _paths({"/a": "[{key: []}, {key: [], basic: []}]", "/b": "[{basic: []}]"})
    app = Flask("d")
    with pytest.raises(UnboundSecurityError) as e:
        ApiPool.add("d", yaml_str=spec).spawn_api(app)
    assert e.value.schemes == {"key": ["GET /a"], "basic": ["GET /a", "GET /b"]}
    assert "GET /a, GET /a" not in str(e.value)
    assert rules(app) == []


def test_only_schemes_that_operations_use_need_a_verifier():
    spec = binding_spec().replace("security: [{basic: []}]", "security: []").replace("security: [{oauth: [read]}]",
                                                                                       "security: [{key: []}]")
    app = Flask("b")
    ApiPool.add("b", yaml_str=spec).spawn_api(app, security={"key": lambda k, s: {"k": k}})
    assert app.test_client().get("/basic").status_code == 200


def test_security_option_must_name_declared_schemes_and_be_callable():
    api = ApiPool.add("b", yaml_str=binding_spec())
    app = Flask("b")
    with pytest.raises(KlueException, match="nope"):
        api.spawn_api(app, security={"nope": lambda k, s: None, "key": lambda k, s: None})
    with pytest.raises(TypeError, match="basic"):
        api.spawn_api(app, security={"key": lambda k, s: None, "basic": "not callable", "oauth": lambda t, s: None})
    with pytest.raises(TypeError):
        api.spawn_api(app, security=[("key", lambda k, s: None)])
    assert rules(app) == []


def test_x_bind_security_binds_a_klue_style_verifier():
    app = Flask("b")
    ApiPool.add("b", yaml_str=binding_spec(key="x-bind-security: tests.handlers.secured.bound_key")).spawn_api(
        app, security={"basic": lambda u, p, s: None, "oauth": lambda t, s: None})
    c = app.test_client()
    r = c.get("/key", headers={"X-API-Key": "good-key"})
    assert r.status_code == 200 and r.get_json()["principal"] == {"via": "x-bind-security"}
    assert c.get("/key", headers={"X-API-Key": "bad"}).status_code == 401
    assert secured.seen == [("bound_key", ("good-key", []), {}), ("bound_key", ("bad", []), {})]


@pytest.mark.parametrize("target, error", [
    ("tests.handlers.secured.no_such_verifier", BindingError),
    ("no_such_module_qq.verify", BindingError),
    ("tests.handlers.secured.NOT_CALLABLE", BindingError),
])
def test_bad_x_bind_security_is_a_binding_error(target, error):
    api = ApiPool.add("b", yaml_str=binding_spec(key=f"x-bind-security: {target}"))
    app = Flask("b")
    with pytest.raises(error) as e:
        api.spawn_api(app, security={"basic": lambda u, p, s: None, "oauth": lambda t, s: None})
    assert "key" in str(e.value)
    assert rules(app) == []


def test_x_bind_security_that_is_not_a_dotted_path_is_a_spec_error():
    with pytest.raises(SpecError) as e:
        ApiPool.add("b", yaml_str=binding_spec(key="x-bind-security: nodots"))
    assert any(p.pointer == "/securityDefinitions/key/x-bind-security" for p in e.value.problems)


def test_precedence_security_option_then_x_bind_security_then_connexion():
    both = "x-bind-security: tests.handlers.secured.bound_key;x-apikeyInfoFunc: tests.handlers.secured.cx_key"
    others = {"basic": lambda u, p, s: None, "oauth": lambda t, s: None}
    # 1. security= wins over both
    app = Flask("b")
    ApiPool.add("b", yaml_str=binding_spec(key=both)).spawn_api(
        app, security={"key": lambda k, s: {"via": "security="}, **others})
    assert app.test_client().get("/key", headers={"X-API-Key": "good-key"}).get_json()["principal"] == {"via": "security="}
    assert secured.seen == []
    # 2. x-bind-security wins over connexion's
    ApiPool.clear()
    app = Flask("b")
    ApiPool.add("b", yaml_str=binding_spec(key=both)).spawn_api(app, security=others)
    assert app.test_client().get("/key", headers={"X-API-Key": "good-key"}).get_json()["principal"] == {"via": "x-bind-security"}
    assert [s[0] for s in secured.seen] == ["bound_key"]
    # 3. connexion's alone
    secured.reset()
    ApiPool.clear()
    app = Flask("b")
    ApiPool.add("b", yaml_str=binding_spec(key="x-apikeyInfoFunc: tests.handlers.secured.cx_key")).spawn_api(
        app, security=others)
    assert app.test_client().get("/key", headers={"X-API-Key": "good-key"}).get_json()["principal"] == {"via": "x-apikeyInfoFunc"}
    assert secured.seen == [("cx_key", ("good-key",), {})]


def test_connexion_api_key_with_and_without_required_scopes():
    others = {"basic": lambda u, p, s: None, "oauth": lambda t, s: None}
    app = Flask("b")
    ApiPool.add("b", yaml_str=binding_spec(key="x-apikeyInfoFunc: tests.handlers.secured.cx_key_scopes")).spawn_api(
        app, security=others)
    c = app.test_client()
    assert c.get("/key", headers={"X-API-Key": "good-key"}).status_code == 200
    assert c.get("/key", headers={"X-API-Key": "bad"}).status_code == 401
    assert secured.seen == [("cx_key_scopes", ("good-key",), {"required_scopes": []}),
                            ("cx_key_scopes", ("bad",), {"required_scopes": []})]


def test_connexion_basic_with_and_without_required_scopes():
    for func in ("cx_basic", "cx_basic_scopes"):
        secured.reset()
        ApiPool.clear()
        app = Flask("b")
        ApiPool.add("b", yaml_str=binding_spec(basic=f"x-basicInfoFunc: tests.handlers.secured.{func}")).spawn_api(
            app, security={"key": lambda k, s: None, "oauth": lambda t, s: None})
        c = app.test_client()
        r = c.get("/basic", headers=basic(b"alice:pw"))
        assert r.status_code == 200 and r.get_json()["principal"] == {"sub": "alice"}
        assert c.get("/basic", headers=basic(b"alice:no")).status_code == 401
        assert c.get("/basic", headers={"Authorization": "Basic ***"}).status_code == 401
        extra = {} if func == "cx_basic" else {"required_scopes": []}
        assert secured.seen == [(func, ("alice", "pw"), extra), (func, ("alice", "no"), extra)]


@pytest.mark.parametrize("ext, func, kwargs", [
    ("x-tokenInfoFunc", "cx_token_scopes", {"required_scopes": ["read"]}),
    ("x-tokenInfoFunc", "cx_token_kwargs", {"required_scopes": ["read"]}),
    ("x-bearerInfoFunc", "cx_token_scopes", {"required_scopes": ["read"]}),
])
def test_connexion_token_info_funcs_on_oauth2(ext, func, kwargs):
    app = Flask("b")
    ApiPool.add("b", yaml_str=binding_spec(oauth=f"{ext}: tests.handlers.secured.{func}")).spawn_api(
        app, security={"key": lambda k, s: None, "basic": lambda u, p, s: None})
    c = app.test_client()
    r = c.get("/read", headers=bearer("read-token"))
    assert r.status_code == 200 and r.get_json()["principal"]["scope"] == "read"
    assert c.get("/read", headers=bearer("nope")).status_code == 401
    assert secured.seen == [(func, ("read-token",), kwargs), (func, ("nope",), kwargs)]


def test_connexion_bearer_info_func_without_required_scopes():
    spec = """
openapi: 3.0.3
info: {title: b, version: "1"}
components:
  securitySchemes:
    jwt: {type: http, scheme: bearer, x-bearerInfoFunc: tests.handlers.secured.cx_bearer}
security: [{jwt: []}]
paths:
""" + _paths({"/me": None})
    app = Flask("b")
    ApiPool.add("b", yaml_str=spec).spawn_api(app)
    c = app.test_client()
    r = c.get("/me", headers=bearer("good-token"))
    assert r.status_code == 200 and r.get_json()["principal"] == {"sub": "bearer-user"}
    r = c.get("/me", headers=bearer("bad"))
    assert r.status_code == 401 and challenges(r) == ['Bearer realm="b", error="invalid_token"']
    assert secured.seen == [("cx_bearer", ("good-token",), {}), ("cx_bearer", ("bad",), {})]


def test_connexion_scopes_short_is_403():
    spec = binding_spec(oauth="x-tokenInfoFunc: tests.handlers.secured.cx_token_scopes").replace(
        "[{oauth: [read]}]", "[{oauth: [read, write]}]")
    app = Flask("b")
    ApiPool.add("b", yaml_str=spec).spawn_api(app, security={"key": lambda k, s: None, "basic": lambda u, p, s: None})
    c = app.test_client()
    r = c.get("/read", headers=bearer("read-token"))
    assert r.status_code == 403
    assert challenges(r) == ['Bearer realm="b", error="insufficient_scope", scope="read write"']
    assert c.get("/read", headers=bearer("rw-token")).status_code == 200


# -- spec errors ------------------------------------------------------------------------------

def test_requirement_naming_an_undeclared_scheme_is_a_spec_error(tmp_path):
    path = tmp_path / "undeclared.yaml"
    path.write_text("""
swagger: "2.0"
info: {title: u, version: "1"}
securityDefinitions:
  key: {type: apiKey, in: header, name: X-API-Key}
security: [{ghost: []}]
paths:
  /a: {get: {operationId: getA, security: [{key: []}, {phantom: []}], responses: {"200": {description: ok}}}}
""")
    with pytest.raises(SpecError) as e:
        ApiPool.add("u", yaml_path=str(path))
    problems = {p.pointer: p for p in e.value.problems}
    assert set(problems) == {"/security/0/ghost", "/paths/~1a/get/security/1/phantom"}
    assert problems["/paths/~1a/get/security/1/phantom"].operation == "GET /a (getA)"
    assert all(p.source == str(path) for p in e.value.problems)
    assert "phantom" in str(e.value) and str(path) in str(e.value) and "GET /a (getA)" in str(e.value)


def test_undeclared_scheme_names_are_escaped_in_the_pointer():
    spec = """
openapi: 3.0.3
info: {title: u, version: "1"}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-API-Key}
paths:
  /a/{id}:
    get:
      parameters: [{in: path, name: id, required: true, schema: {type: string}}]
      security: [{key: []}, {"in/out~x": []}]
      responses: {"200": {description: ok}}
"""
    with pytest.raises(SpecError) as e:
        ApiPool.add("u", yaml_str=spec)
    assert [p.pointer for p in e.value.problems] == ["/paths/~1a~1{id}/get/security/1/in~1out~0x"]


@pytest.mark.parametrize("spec", [
    """
swagger: "2.0"
info: {title: s, version: "1"}
securityDefinitions:
  oauth: {type: oauth2, flow: implicit, authorizationUrl: "https://a.example/x", scopes: {read: r}}
paths:
  /a: {get: {security: [{oauth: [read, admin]}], responses: {"200": {description: ok}}}}
""",
    """
openapi: 3.0.3
info: {title: s, version: "1"}
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows:
        implicit: {authorizationUrl: "https://a.example/x", scopes: {read: r}}
        password: {tokenUrl: "https://a.example/t", scopes: {write: w}}
paths:
  /a: {get: {security: [{oauth: [read, write, admin]}], responses: {"200": {description: ok}}}}
""",
])
def test_undeclared_oauth2_scope_is_a_spec_error(spec):
    with pytest.raises(SpecError) as e:
        ApiPool.add("s", yaml_str=spec)
    assert [p.pointer for p in e.value.problems] == ["/paths/~1a/get/security/0/oauth"]
    problem = e.value.problems[0]
    assert problem.operation == "GET /a" and problem.source == "<yaml_str>"
    assert problem.reason.startswith("scope 'admin' is not declared")  # only admin is faulted


def test_swagger2_has_no_cookie_api_keys():
    spec = SWAGGER2.replace("qkey: {type: apiKey, in: query, name: k}", "qkey: {type: apiKey, in: cookie, name: k}")
    with pytest.raises(SpecError) as e:
        ApiPool.add("s", yaml_str=spec)
    assert "/securityDefinitions/qkey/in" in [p.pointer for p in e.value.problems]


# -- mock mode --------------------------------------------------------------------------------

def test_mock_all_checks_only_that_credentials_are_there(version):
    app = spawn(SPECS[version], mock="all")  # no verifier at all
    c = app.test_client()
    assert c.get("/api/key").status_code == 401
    assert challenges(c.get("/api/key")) == [KEY_CHALLENGE]
    assert c.get("/api/key", headers={"X-API-Key": "anything"}).status_code == 200
    assert c.get("/api/qkey?k=anything").status_code == 200
    assert c.get("/api/qkey?k=").status_code == 401
    assert c.get("/api/qkey", headers={"X-API-Key": "anything"}).status_code == 401  # wrong place
    assert c.get("/api/basic", headers=basic(b"x:y")).status_code == 200
    assert c.get("/api/basic", headers={"Authorization": "Basic %%%"}).status_code == 401
    assert c.get("/api/write", headers=bearer("whatever")).status_code == 200
    assert c.get("/api/write").status_code == 401
    assert c.get("/api/public").status_code == 200
    assert c.get("/api/optional").status_code == 200
    assert secured.calls == []  # mocked: the real handlers never run


def test_mock_all_openapi3_schemes():
    c = spawn(OPENAPI3, mock="all").test_client()
    assert c.get("/api/bearer", headers=bearer("t")).status_code == 200
    assert c.get("/api/bearer").status_code == 401
    assert c.get("/api/oidc", headers=bearer("t")).status_code == 200
    assert c.get("/api/token", headers={"Authorization": "Token t"}).status_code == 200
    assert c.get("/api/token", headers=bearer("t")).status_code == 401
    c.set_cookie("sid", "x")
    assert c.get("/api/ckey").status_code == 200


def test_mock_missing_needs_verifiers_only_for_bound_operations():
    spec = binding_spec().replace(
        '/basic: {get: {security: [{basic: []}], x-bind-server: tests.handlers.secured.whoami,',
        '/basic: {get: {security: [{basic: []}],')
    assert "/basic: {get: {security: [{basic: []}], responses" in spec
    api = ApiPool.add("b", yaml_str=spec)
    app = Flask("b")
    with pytest.raises(UnboundSecurityError) as e:
        api.spawn_api(app, mock="missing")
    assert set(e.value.schemes) == {"key", "oauth"}  # basic is only needed by a mocked operation
    api.spawn_api(app, mock="missing", security={"key": lambda k, s: {"k": 1}, "oauth": lambda t, s: None})
    c = app.test_client()
    assert c.get("/basic").status_code == 401
    assert c.get("/basic", headers=basic(b"any:thing")).status_code == 200
    assert c.get("/key", headers={"X-API-Key": "x"}).get_json()["principal"] == {"k": 1}
    assert c.get("/read", headers=bearer("any")).status_code == 401  # a real verifier refuses it


# -- logs ---------------------------------------------------------------------------------------

def test_credentials_never_reach_the_logs(caplog, client3):
    caplog.set_level(logging.DEBUG, logger="klue.access")
    caplog.set_level(logging.DEBUG, logger="klue.server")
    secrets = ["good-key", "wrong-key-7781", "good-q", "bad-q-9932", "pa:ss", "badpass-5521", "read-token",
               "forged-token-4410", "good-cookie", "stale-cookie-3387"]
    client3.get("/api/key", headers={"X-API-Key": "good-key"})
    client3.get("/api/key", headers={"X-API-Key": "wrong-key-7781"})
    client3.get("/api/qkey?k=good-q&limit=3")
    client3.get("/api/qkey?k=bad-q-9932")
    client3.get("/api/qkey?k=bad-q-9932&k=bad-q-9932")
    client3.get("/api/basic", headers=basic(b"alice:pa:ss"))
    client3.get("/api/basic", headers=basic(b"alice:badpass-5521"))
    client3.get("/api/read", headers=bearer("read-token"))
    client3.get("/api/write", headers=bearer("read-token"))
    client3.get("/api/read", headers=bearer("forged-token-4410"))
    client3.set_cookie("sid", "good-cookie")
    client3.get("/api/ckey")
    client3.set_cookie("sid", "stale-cookie-3387")
    client3.get("/api/ckey")
    access = [r.getMessage() for r in caplog.records if r.name == "klue.access"]
    assert len(access) == 12
    assert any("/api/qkey?k=***&limit=3 -> 200" in line for line in access)
    assert any("/api/qkey?k=***&k=*** -> 401" in line for line in access)
    assert any("-> 403" in line for line in access)
    text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    for secret in secrets:
        assert secret not in text, secret
    assert base64.b64encode(b"alice:pa:ss").decode() not in text


def test_secret_looking_query_names_are_masked_too(caplog):
    spec = SWAGGER2.replace("name: k}", "name: api_key}")
    app = spawn(spec, Verifiers().bound("swagger2") | {"qkey": lambda k, s: {"ok": 1}})
    caplog.set_level(logging.INFO, logger="klue.access")
    assert app.test_client().get("/api/qkey?api_key=s3cr3t-value").status_code == 200
    lines = [r.getMessage().split(" -> ")[0] for r in caplog.records if r.name == "klue.access"]
    assert lines == ["secured GET /api/qkey?api_key=***"]
    assert "s3cr3t-value" not in caplog.text


# -- the served spec ----------------------------------------------------------------------------

def test_served_swagger2_spec_keeps_its_security(verifiers):
    c = spawn(SWAGGER2, verifiers.bound("swagger2")).test_client()
    r = c.get("/api/swagger.json")  # the docs themselves are public
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["security"] == [{"key": []}]
    assert set(doc["securityDefinitions"]) == {"key", "qkey", "basic", "oauth"}
    assert doc["securityDefinitions"]["oauth"]["scopes"] == {"read": "read things", "write": "write things"}
    assert doc["paths"]["/public"]["get"]["security"] == []
    assert doc["paths"]["/optional"]["get"]["security"] == [{"key": []}, {}]
    assert doc["paths"]["/both"]["get"]["security"] == [{"qkey": [], "key": []}]


def test_served_openapi3_spec_keeps_its_security(verifiers):
    c = spawn(OPENAPI3, verifiers.bound("openapi3")).test_client()
    r = c.get("/api/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["security"] == [{"key": []}]
    schemes = doc["components"]["securitySchemes"]
    assert set(schemes) == {"key", "qkey", "ckey", "basic", "bearer", "token", "oauth", "oidc", "mtls"}
    assert schemes["oauth"]["flows"]["authorizationCode"]["scopes"] == {"write": "write things"}
    assert schemes["token"] == {"type": "http", "scheme": "Token"}
    assert doc["paths"]["/write"]["get"]["security"] == [{"oauth": ["read", "write"]}]


# -- found by review: bypasses and leaks closed ------------------------------------------------

def _all_verifiers(**overrides):
    verifiers = {"key": lambda k, s: {"name": "ann"} if k == "good" else None, "qkey": lambda k, s: None,
                 "basic": lambda u, p, s: None, "oauth": lambda t, s: None}
    verifiers.update(overrides)
    return verifiers


@pytest.mark.parametrize("principal", [{}, [], "", ()])
def test_an_empty_principal_refuses(principal):
    """``KEYS.get(key, {})`` must not let everyone in."""
    app = spawn(SWAGGER2, _all_verifiers(key=lambda k, s: principal))
    assert_problem(app.test_client().get("/api/key", headers={"X-API-Key": "anything"}), 401, "UNAUTHORIZED")
    assert secured.calls == []


@pytest.mark.parametrize("scopes", [{"read": True}, 42, True, {"write"}.__contains__])
def test_scopes_in_a_form_klue_cannot_read_grant_none(scopes):
    app = spawn(SWAGGER2, _all_verifiers(oauth=lambda t, s: {"sub": "x", "scopes": scopes}))
    r = app.test_client().get("/api/read", headers=bearer("tok"))
    assert_problem(r, 403, "FORBIDDEN")
    assert secured.calls == []


def test_a_credential_header_sent_twice_is_refused():
    calls = []
    app = spawn(SWAGGER2, _all_verifiers(key=lambda k, s: calls.append(k) or {"name": "ann"}))
    client = app.test_client()
    # WSGI servers join a repeated header with ", ": which value would a proxy have checked?
    r = client.get("/api/key", headers=[("X-API-Key", "good"), ("X-API-Key", "evil")])
    assert_problem(r, 401, "UNAUTHORIZED")
    r = client.get("/api/read", headers=[("Authorization", "Bearer a"), ("Authorization", "Bearer b")])
    assert_problem(r, 401, "UNAUTHORIZED")
    assert calls == []


def test_an_optional_requirement_with_a_credential_given_is_not_anonymous():
    api = ApiPool.add("opt", yaml_str=OPTIONAL_AND)
    app = Flask("opt")
    called = []
    api.spawn_api(app, security={"key": lambda k, s: called.append("key") or {"k": k},
                                 "key2": lambda k, s: called.append("key2") or None})
    client = app.test_client()
    assert client.get("/api/maybe").status_code == 200  # nothing given: anonymous
    r = client.get("/api/maybe", headers={"X-Other": "garbage"})  # only the second scheme's credential
    assert r.status_code == 401 and called == []


def test_each_scheme_is_verified_once_per_request():
    api = ApiPool.add("once", yaml_str=OPTIONAL_AND)
    app = Flask("once")
    called = []
    api.spawn_api(app, security={"key": lambda k, s: called.append("key") or None,
                                 "key2": lambda k, s: called.append("key2") or None})
    r = app.test_client().get("/api/twice", headers={"X-API-Key": "a", "X-Other": "b"})
    assert r.status_code == 401
    assert called.count("key") == 1 and called.count("key2") == 1


def test_flask_abort_in_a_verifier_is_a_500_not_its_status():
    from flask import abort

    def verify(key, scopes):
        abort(404)  # "no such user": a 404 would tell usernames apart

    app = spawn(SWAGGER2, _all_verifiers(key=verify))
    assert_problem(app.test_client().get("/api/key", headers={"X-API-Key": "x"}), 500, "INTERNAL_ERROR")


def test_an_api_key_header_with_an_underscore_is_a_spec_problem():
    spec = SWAGGER2.replace("name: X-API-Key}", "name: X_API_Key}", 1)
    with pytest.raises(SpecError) as e:
        ApiPool.add("underscore", yaml_str=spec)
    assert "/securityDefinitions/key/name" in str(e.value) and "underscore" in str(e.value)


OPTIONAL_AND = """
swagger: "2.0"
info: {title: opt, version: "1"}
basePath: /api
securityDefinitions:
  key: {type: apiKey, in: header, name: X-API-Key}
  key2: {type: apiKey, in: header, name: X-Other}
paths:
  /maybe:
    get:
      security: [{}, {key: [], key2: []}]
      x-bind-server: tests.handlers.secured.whoami
      responses: {200: {description: ok}}
  /twice:
    get:
      security: [{key: [], key2: []}, {key: []}, {key2: [], key: []}]
      x-bind-server: tests.handlers.secured.whoami
      responses: {200: {description: ok}}
"""
