"""Credentials the generated client sends (``ApiPool.add(..., credentials=...)``), against real servers on 127.0.0.1."""
import base64
import itertools
import threading
import time
import traceback
from urllib.parse import unquote_plus

import pytest
import requests
import yaml
from flask import Flask, Response, redirect, request

from klue.client import RetryPolicy
from klue.exceptions import CallConnectionError, ClientError, KlueException, RemoteError
from klue.security import FORWARD, ClientCredentials, api_keys
from klue.swagger import ApiPool
from klue.swagger.client import async_call
from tests.live import free_port, live

FAST = RetryPolicy(backoff=0.01, max_backoff=0.05)
HANDLERS = "tests.handlers.secured_client"
LOOSE = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}


def _op(op_id, security=None, handler="echo"):
    op = {"operationId": op_id, "x-bind-server": f"{HANDLERS}.{handler}", "responses": LOOSE}
    if security is not None:
        op["security"] = security
    return {"get": op}


# -- the echo API: one operation per scheme, and some combinations -----------------------------

ECHO = yaml.safe_dump(sort_keys=False, data={
    "openapi": "3.0.3",
    "info": {"title": "echo", "version": "1"},
    "security": [{"hkey": []}],
    "components": {"securitySchemes": {
        "hkey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        "qkey": {"type": "apiKey", "in": "query", "name": "api_key"},
        "ckey": {"type": "apiKey", "in": "cookie", "name": "session"},
        "basic": {"type": "http", "scheme": "basic"},
        "bearer": {"type": "http", "scheme": "bearer"},
        "custom": {"type": "http", "scheme": "Token"},
        "oauth": {"type": "oauth2", "flows": {"clientCredentials": {
            "tokenUrl": "http://auth.invalid/token", "scopes": {"read": "read things"}}}},
        "oidc": {"type": "openIdConnect", "openIdConnectUrl": "http://auth.invalid/.well-known/openid-configuration"},
    }},
    "paths": {
        "/hkey": _op("hkey", [{"hkey": []}]),
        "/qkey": _op("qkey", [{"qkey": []}]),
        "/ckey": _op("ckey", [{"ckey": []}]),
        "/basic": _op("basic", [{"basic": []}]),
        "/bearer": _op("bearer", [{"bearer": []}]),
        "/custom": _op("custom", [{"custom": []}]),
        "/oauth": _op("oauth", [{"oauth": ["read"]}]),
        "/oidc": _op("oidc", [{"oidc": []}]),
        "/inherited": _op("inherited"),  # the top-level requirement: hkey
        "/either": _op("either", [{"hkey": []}, {"bearer": []}]),
        "/both": _op("both", [{"hkey": [], "basic": []}, {"bearer": []}]),
        "/keys": _op("keys", [{"hkey": [], "qkey": [], "ckey": []}]),
        "/public": _op("public", []),
        "/optional": _op("optional", [{}, {"hkey": []}]),
    },
})


def _accept_any(name):
    """A verifier taking any credential, so the echo shows what arrived (and klue's server read it)."""
    return lambda credential, _scopes: {"scheme": name, "credential": credential}


ECHO_VERIFIERS = {
    **{name: _accept_any(name) for name in ("hkey", "qkey", "ckey", "bearer", "custom", "oauth", "oidc")},
    "basic": lambda username, password, _scopes: {"scheme": "basic", "credential": [username, password]},
}


def counting(app):
    """Record every request the app receives, before any route (or klue's security) runs."""
    app.seen = []
    lock = threading.Lock()

    @app.before_request
    def _count():
        with lock:
            app.seen.append((request.path, request.headers.get("Authorization"), request.headers.get("X-API-Key"),
                             request.query_string.decode("latin-1"), request.headers.get("Cookie")))

    return app


@pytest.fixture
def echo_server():
    served = ApiPool.add("echo_server", yaml_str=ECHO)
    app = counting(Flask("echo"))
    served.spawn_api(app, security=ECHO_VERIFIERS)
    with live(app) as server:
        server.app = app
        yield server


def echo_api(server, credentials=None, **options):
    return ApiPool.add("echo", yaml_str=ECHO, host=server.url, retry=FAST, credentials=credentials, **options)


def _no_credential(got):
    headers = got["headers"]
    return "authorization" not in headers and "x-api-key" not in headers and not got["query"] and not got["cookies"]


# -- each kind of credential, in its place ------------------------------------------------------

B64 = base64.b64encode


@pytest.mark.parametrize("op, credentials, check", [
    ("hkey", {"hkey": "h-key-1"}, lambda g: g["headers"]["x-api-key"] == "h-key-1" and "authorization" not in g["headers"]),
    ("qkey", {"qkey": "q-key-1"}, lambda g: g["query"] == {"api_key": ["q-key-1"]} and "x-api-key" not in g["headers"]),
    ("ckey", {"ckey": "c-key-1"}, lambda g: g["cookies"] == {"session": "c-key-1"} and not g["query"]),
    ("basic", {"basic": ("bob", "pa ss:wörd")},
     lambda g: g["headers"]["authorization"] == "Basic " + B64("bob:pa ss:wörd".encode()).decode()),
    ("bearer", {"bearer": "b-token"}, lambda g: g["headers"]["authorization"] == "Bearer b-token"),
    ("custom", {"custom": "c-token"}, lambda g: g["headers"]["authorization"] == "Token c-token"),
    ("oauth", {"oauth": "o-token"}, lambda g: g["headers"]["authorization"] == "Bearer o-token"),
    ("oidc", {"oidc": "i-token"}, lambda g: g["headers"]["authorization"] == "Bearer i-token"),
    ("inherited", {"hkey": "top-key"}, lambda g: g["headers"]["x-api-key"] == "top-key"),
])
def test_each_credential_goes_where_its_scheme_says(echo_server, op, credentials, check):
    api = echo_api(echo_server, credentials)
    got = getattr(api.client, op)().call()
    assert check(got), got
    # klue's server read it from the same place and verified it
    scheme = "hkey" if op == "inherited" else op
    expected = list(credentials.values())[0]
    assert got["principal"] == {"scheme": scheme, "credential": list(expected) if isinstance(expected, tuple) else expected}


def test_api_keys_in_header_query_and_cookie_together(echo_server):
    api = echo_api(echo_server, {"hkey": "h1", "qkey": "q1", "ckey": "c1"})
    got = api.client.keys().call()
    assert got["headers"]["x-api-key"] == "h1" and got["query"] == {"api_key": ["q1"]} and got["cookies"] == {"session": "c1"}
    assert "authorization" not in got["headers"]


def test_swagger2_schemes_are_placed_alike():
    spec = yaml.safe_dump({
        "swagger": "2.0", "info": {"title": "s2", "version": "1"},
        "securityDefinitions": {"b": {"type": "basic"}, "q": {"type": "apiKey", "in": "query", "name": "token"},
                                "o": {"type": "oauth2", "flow": "application", "tokenUrl": "http://auth.invalid/t",
                                      "scopes": {"read": "r"}}},
        "paths": {p: {"get": {"operationId": p[1:], "x-bind-server": f"{HANDLERS}.echo", "security": s,
                              "responses": {"200": {"description": "ok", "schema": {"type": "object"}}}}}
                  for p, s in (("/b", [{"b": []}]), ("/q", [{"q": []}]), ("/o", [{"o": ["read"]}]))},
    })
    served = ApiPool.add("s2_server", yaml_str=spec)
    app = Flask("s2")
    served.spawn_api(app, security={"b": lambda u, p, s: u, "q": lambda k, s: k, "o": lambda t, s: t})
    with live(app) as server:
        api = ApiPool.add("s2", yaml_str=spec, host=server.url, credentials={"b": ("ann", "pw"), "q": "qq", "o": "oo"})
        assert api.client.b().call()["headers"]["authorization"] == "Basic " + B64(b"ann:pw").decode()
        assert api.client.q().call()["query"] == {"token": ["qq"]}
        got = api.client.o().call()
        assert got["headers"]["authorization"] == "Bearer oo" and got["principal"] == "oo"


def test_a_callable_is_called_on_each_call(echo_server):
    counter = itertools.count(1)
    users = itertools.cycle([("u1", "p1"), ("u2", "p2")])
    api = echo_api(echo_server, {"bearer": lambda: f"rotating-{next(counter)}", "basic": lambda: next(users)})
    tokens = [api.client.bearer().call()["headers"]["authorization"] for _ in range(3)]
    assert tokens == ["Bearer rotating-1", "Bearer rotating-2", "Bearer rotating-3"]
    # a Call built once and sent twice asks the callable twice as well
    call = api.client.bearer()
    assert call.call()["headers"]["authorization"] == "Bearer rotating-4"
    assert call.call()["headers"]["authorization"] == "Bearer rotating-5"
    basics = [api.client.basic().call()["principal"]["credential"] for _ in range(3)]
    assert basics == [["u1", "p1"], ["u2", "p2"], ["u1", "p1"]]


@pytest.mark.parametrize("value", [("user", "s3cr3t-tuple"), "s3cr3t\r\nX-Evil: 1", ""])
def test_a_callable_returning_an_unusable_value_fails_before_sending(echo_server, value):
    api = echo_api(echo_server, {"hkey": lambda: value})
    call = api.client.hkey()  # the callable's answer is only known when sending
    with pytest.raises(ClientError) as e:
        call.call()
    assert "credential callable for scheme 'hkey'" in str(e.value)
    assert "s3cr3t" not in str(e.value)
    assert echo_server.app.seen == []


# -- which requirement ----------------------------------------------------------------------

def test_the_first_requirement_with_all_its_credentials_is_used(echo_server):
    got = echo_api(echo_server, {"bearer": "tok"}).client.either().call()
    assert got["headers"]["authorization"] == "Bearer tok" and "x-api-key" not in got["headers"]
    got = echo_api(echo_server, {"bearer": "tok", "hkey": "key"}).client.either().call()
    assert got["headers"]["x-api-key"] == "key" and "authorization" not in got["headers"]
    assert got["principal"] == {"scheme": "hkey", "credential": "key"}


def test_a_requirement_is_taken_whole_or_not_at_all(echo_server):
    # hkey AND basic first; only hkey given: the bearer alternative, and the key stays home
    got = echo_api(echo_server, {"hkey": "key", "bearer": "tok"}).client.both().call()
    assert got["headers"]["authorization"] == "Bearer tok" and "x-api-key" not in got["headers"]
    got = echo_api(echo_server, {"hkey": "key", "basic": ("u", "p"), "bearer": "tok"}).client.both().call()
    assert got["headers"]["x-api-key"] == "key"
    assert got["headers"]["authorization"] == "Basic " + B64(b"u:p").decode()


def test_a_public_operation_sends_no_credential(echo_server):
    everything = {"hkey": "h", "qkey": "q", "ckey": "c", "bearer": "b"}
    got = echo_api(echo_server, everything).client.public().call()
    assert _no_credential(got) and got["principal"] is None
    assert echo_server.app.seen[-1][1:] == (None, None, "", None)


def test_an_optional_requirement_sends_a_credential_when_there_is_one(echo_server):
    got = echo_api(echo_server, {"hkey": "opt-key"}).client.optional().call()
    assert got["headers"]["x-api-key"] == "opt-key" and got["principal"] == {"scheme": "hkey", "credential": "opt-key"}
    got = echo_api(echo_server, {"bearer": "unrelated"}).client.optional().call()  # anonymous is allowed
    assert _no_credential(got) and got["principal"] is None


def test_missing_credentials_fail_when_the_call_is_built(echo_server):
    api = echo_api(echo_server, {"qkey": "q"})
    with pytest.raises(ClientError) as e:
        api.client.hkey()
    assert "GET /hkey (hkey) needs credentials for hkey (apiKey in header X-API-Key)" in str(e.value)
    with pytest.raises(ClientError) as e:
        api.client.either(max_attempts=1)
    assert "hkey (apiKey in header X-API-Key) or bearer (http, Authorization: Bearer)" in str(e.value)
    with pytest.raises(ClientError) as e:
        echo_api(echo_server).client.both()
    assert "hkey (apiKey in header X-API-Key) and basic (http, Authorization: Basic) or bearer" in str(e.value)
    assert echo_server.app.seen == []  # nothing was sent
    # a public operation needs none
    assert _no_credential(echo_api(echo_server).client.public().call())


def test_set_credentials_replaces_them(echo_server):
    api = echo_api(echo_server)
    with pytest.raises(ClientError):
        api.client.hkey()
    api.set_credentials({"hkey": "first"})
    assert api.client.hkey().call()["headers"]["x-api-key"] == "first"
    api.set_credentials({"hkey": "second", "bearer": "tok"})
    assert api.client.hkey().call()["headers"]["x-api-key"] == "second"
    got = api.client.either().call()
    assert got["headers"]["x-api-key"] == "second" and "authorization" not in got["headers"]
    api.set_credentials({"bearer": "tok"})  # the caller chose hkey for `either` before: it chooses again
    got = api.client.either().call()
    assert got["headers"]["authorization"] == "Bearer tok" and "x-api-key" not in got["headers"]
    with pytest.raises(ClientError):
        api.client.hkey()
    with pytest.raises(KlueException, match="basic needs a"):
        api.set_credentials({"basic": "no-tuple"})
    assert api.client.either().call()["headers"]["authorization"] == "Bearer tok"  # a refused set changes nothing
    api.set_credentials(None)
    with pytest.raises(ClientError):
        api.client.bearer()


# -- refused at add time ------------------------------------------------------------------------

@pytest.mark.parametrize("credentials, message", [
    ({"nosuch": "s3cr3t-value"}, "'nosuch', which its spec does not declare (declared: basic, bearer, ckey"),
    ({"basic": "s3cr3t-value"}, "basic needs a (username, password) tuple of strings"),
    ({"basic": ("bob",)}, "basic needs a (username, password) tuple"),
    ({"basic": ["bob", "s3cr3t-value"]}, "basic needs a (username, password) tuple"),
    ({"basic": ("b:ob", "s3cr3t-value")}, "a basic username cannot contain ':'"),
    ({"basic": ("bob", "s3cr3t-value\n")}, "a credential cannot contain CR, LF or NUL"),
    ({"hkey": ("bob", "s3cr3t-value")}, "needs a non-empty string, not tuple"),
    ({"hkey": "s3cr3t-value\r\nX-Injected: 1"}, "a credential cannot contain CR, LF or NUL"),
    ({"qkey": "s3cr3t-value\n"}, "a credential cannot contain CR, LF or NUL"),
    ({"bearer": "s3cr3t-value\r"}, "a credential cannot contain CR, LF or NUL"),
    ({"bearer": ""}, "needs a non-empty string"),
    ({"bearer": 12345}, "needs a non-empty string, not int"),
    ({"hkey": ClientCredentials("http://127.0.0.1:1/token", "id", "s3cr3t-value")}, "ClientCredentials gives bearer tokens"),
    ({"basic": ClientCredentials("http://127.0.0.1:1/token", "id", "s3cr3t-value")}, "ClientCredentials gives bearer tokens"),
])
def test_bad_credentials_are_refused_at_add_time(credentials, message):
    with pytest.raises(KlueException) as e:
        ApiPool.add("echo", yaml_str=ECHO, host="http://127.0.0.1:1", credentials=credentials)
    assert message in str(e.value)
    assert "s3cr3t" not in str(e.value)
    assert "echo" not in ApiPool  # nothing was registered


def test_credentials_must_be_a_mapping():
    with pytest.raises(TypeError, match="must be a mapping"):
        ApiPool.add("echo", yaml_str=ECHO, host="http://127.0.0.1:1", credentials=[("hkey", "k")])


def test_client_credentials_check_their_arguments():
    with pytest.raises(ValueError, match="http"):
        ClientCredentials("ftp://auth/token", "id", "secret")
    with pytest.raises(ValueError, match="client_id"):
        ClientCredentials("http://auth/token", "", "secret")
    with pytest.raises(ValueError, match="scopes"):
        ClientCredentials("http://auth/token", "id", "secret", scopes="read write")
    assert "s3cr3t" not in repr(ClientCredentials("http://auth/token", "id", "s3cr3t"))


# -- OAuth2 client credentials against a real token endpoint ------------------------------------------

CLIENT_ID = "svc/client id"
SECRET = "s3cr3t:+/ é%"  # each character that needs form encoding in HTTP Basic (RFC 6749 2.3.1)


class TokenEndpoint:
    """A token endpoint on 127.0.0.1 that checks the grant and the client's Basic auth, and counts."""

    def __init__(self, expires_in=3600, delay=0.0):
        self.expires_in = expires_in
        self.delay = delay
        self.requests = []
        self.issued = []
        self.lock = threading.Lock()
        self.app = Flask("token")
        self.app.post("/token")(self.token)

    def token(self):
        auth = request.authorization
        with self.lock:
            self.requests.append({"form": request.form.to_dict(flat=False), "auth": auth and (auth.username, auth.password),
                                  "content_type": request.mimetype})
        if auth is None or auth.type != "basic" or (unquote_plus(auth.username), unquote_plus(auth.password)) != (CLIENT_ID, SECRET):
            return {"error": "invalid_client", "error_description": f"who are you, {auth and auth.password}?"}, 401
        if request.form.getlist("grant_type") != ["client_credentials"]:
            return {"error": "unsupported_grant_type"}, 400
        time.sleep(self.delay)
        with self.lock:
            token = f"tok-{len(self.issued) + 1}"
            self.issued.append(token)
        return {"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in}


@pytest.fixture
def tokens():
    endpoint = TokenEndpoint()
    with live(endpoint.app) as server:
        endpoint.url = server.url + "/token"
        yield endpoint


@pytest.fixture
def oauth_server(tokens):
    """The echo API, its oauth scheme accepting the token endpoint's tokens but those in ``refused``."""
    served = ApiPool.add("echo_server", yaml_str=ECHO)
    app = counting(Flask("echo"))
    app.refused = set()

    def verify(token, _scopes):
        return {"token": token} if token in tokens.issued and token not in app.refused and "all" not in app.refused else None

    served.spawn_api(app, security={**ECHO_VERIFIERS, "oauth": verify})
    with live(app) as server:
        server.app = app
        yield server


def test_client_credentials_fetch_a_token_and_keep_it(tokens, oauth_server):
    grant = ClientCredentials(tokens.url, CLIENT_ID, SECRET, scopes=["read", "write"])
    api = echo_api(oauth_server, {"oauth": grant})
    assert grant.fetches == 0  # nothing is fetched before the first call
    for _ in range(3):
        got = api.client.oauth().call()
        assert got["headers"]["authorization"] == "Bearer tok-1" and got["principal"] == {"token": "tok-1"}
    assert grant.fetches == 1 and len(tokens.requests) == 1
    sent = tokens.requests[0]
    assert sent["form"] == {"grant_type": ["client_credentials"], "scope": ["read write"]}
    assert sent["content_type"] == "application/x-www-form-urlencoded"
    # HTTP Basic of the form-encoded id and secret: decoded, they are the originals
    assert "%" in sent["auth"][1] and ":" not in sent["auth"][1]
    assert tuple(map(unquote_plus, sent["auth"])) == (CLIENT_ID, SECRET)
    assert len(oauth_server.app.seen) == 3


def test_client_credentials_without_scopes_send_no_scope(tokens, oauth_server):
    grant = ClientCredentials(tokens.url, CLIENT_ID, SECRET)
    echo_api(oauth_server, {"oauth": grant}).client.oauth().call()
    assert tokens.requests[0]["form"] == {"grant_type": ["client_credentials"]}


def test_client_credentials_token_is_fetched_again_before_it_expires(tokens, oauth_server):
    tokens.expires_in = 1  # kept for 1 s less a tenth: 0.9 s
    grant = ClientCredentials(tokens.url, CLIENT_ID, SECRET)
    api = echo_api(oauth_server, {"oauth": grant})
    assert api.client.oauth().call()["headers"]["authorization"] == "Bearer tok-1"
    assert api.client.oauth().call()["headers"]["authorization"] == "Bearer tok-1"
    assert grant.fetches == 1
    time.sleep(0.95)  # not expired yet, but within the margin
    assert api.client.oauth().call()["headers"]["authorization"] == "Bearer tok-2"
    assert grant.fetches == 2 and len(tokens.requests) == 2


def test_client_credentials_are_fetched_once_for_concurrent_calls(tokens, oauth_server):
    tokens.delay = 0.2  # long enough for all the calls to wait on the first fetch
    grant = ClientCredentials(tokens.url, CLIENT_ID, SECRET)
    api = echo_api(oauth_server, {"oauth": grant})
    results = async_call(*[api.client.oauth() for _ in range(20)])
    assert [r["headers"]["authorization"] for r in results] == ["Bearer tok-1"] * 20
    assert grant.fetches == 1 and len(tokens.requests) == 1
    assert len(oauth_server.app.seen) == 20


def test_a_refused_token_is_fetched_again_and_the_call_retried_once(tokens, oauth_server):
    oauth_server.app.refused.add("tok-1")  # the API revoked the first token
    grant = ClientCredentials(tokens.url, CLIENT_ID, SECRET)
    api = echo_api(oauth_server, {"oauth": grant})
    got = api.client.oauth().call()
    assert got["headers"]["authorization"] == "Bearer tok-2" and got["principal"] == {"token": "tok-2"}
    assert grant.fetches == 2
    assert [s[1] for s in oauth_server.app.seen] == ["Bearer tok-1", "Bearer tok-2"]
    # the new token is kept
    assert api.client.oauth().call()["headers"]["authorization"] == "Bearer tok-2"
    assert grant.fetches == 2 and len(oauth_server.app.seen) == 3


def test_a_token_refused_again_is_not_retried_forever(tokens, oauth_server):
    oauth_server.app.refused.add("all")
    grant = ClientCredentials(tokens.url, CLIENT_ID, SECRET)
    api = echo_api(oauth_server, {"oauth": grant})
    with pytest.raises(RemoteError) as e:
        api.client.oauth().call()
    assert e.value.status_code == 401
    assert grant.fetches == 2 and len(oauth_server.app.seen) == 2
    assert "tok-" not in str(e.value) and SECRET not in str(e.value)


def test_a_401_with_a_fixed_token_is_not_retried():
    served = ApiPool.add("echo_server", yaml_str=ECHO)
    app = counting(Flask("echo"))
    served.spawn_api(app, security={**ECHO_VERIFIERS, "bearer": lambda token, scopes: None})
    with live(app) as server:
        calls = itertools.count(1)
        api = echo_api(server, {"bearer": lambda: f"t{next(calls)}"})
        with pytest.raises(RemoteError) as e:
            api.client.bearer().call()
        assert e.value.status_code == 401 and [s[1] for s in app.seen] == ["Bearer t1"]


def test_concurrent_401s_fetch_one_new_token(tokens, oauth_server):
    grant = ClientCredentials(tokens.url, CLIENT_ID, SECRET)
    api = echo_api(oauth_server, {"oauth": grant})
    assert grant.token() == "tok-1"
    oauth_server.app.refused.add("tok-1")
    tokens.delay = 0.1
    results = async_call(*[api.client.oauth() for _ in range(10)])
    assert {r["headers"]["authorization"] for r in results} == {"Bearer tok-2"}
    assert grant.fetches == 2


@pytest.fixture
def failing_tokens():
    """A token endpoint that refuses and talks too much, echoing what it was given."""
    app = counting(Flask("bad_token"))

    @app.post("/token")
    def token():
        password = request.authorization.password if request.authorization else ""
        return {"error": "invalid_client", "error_description": f"bad secret {unquote_plus(password)}"}, 401

    @app.post("/broken")
    def broken():
        return Response(f"<html>trace: {request.get_data(as_text=True)} {request.headers}</html>", status=500)

    @app.post("/empty")
    def empty():
        return {"token_type": "bearer", "expires_in": 60}

    @app.post("/mac")
    def mac():
        return {"access_token": "abc", "token_type": "mac"}

    with live(app) as server:
        server.app = app
        yield server


@pytest.mark.parametrize("path, message", [
    ("/token", "was refused: 401 (invalid_client)"),
    ("/broken", "was refused: 500"),
    ("/empty", "the answer has no usable access_token"),
    ("/mac", "token_type 'mac' is not bearer"),
])
def test_token_endpoint_failures_are_client_errors_without_the_secret(failing_tokens, echo_server, path, message):
    grant = ClientCredentials(failing_tokens.url + path, CLIENT_ID, SECRET)
    api = echo_api(echo_server, {"oauth": grant})
    call = api.client.oauth()
    with pytest.raises(ClientError) as e:
        call.call()
    assert message in str(e.value) and failing_tokens.url + path in str(e.value)
    text = "".join(traceback.format_exception(e.value))
    for secret in (SECRET, unquote_plus(SECRET), "s3cr3t", B64(SECRET.encode()).decode()):
        assert secret not in text
    assert echo_server.app.seen == []  # the API was never called without a token
    assert len(failing_tokens.app.seen) == 1


def test_token_endpoint_down_is_a_client_error_without_the_secret(echo_server):
    url = f"http://127.0.0.1:{free_port()}/token"
    grant = ClientCredentials(url, CLIENT_ID, SECRET, timeout=2)
    with pytest.raises(ClientError) as e:
        echo_api(echo_server, {"oauth": grant}).client.oauth().call()
    assert url in str(e.value) and "failed" in str(e.value)
    assert "s3cr3t" not in "".join(traceback.format_exception(e.value))
    assert echo_server.app.seen == []


# -- FORWARD: a gateway passes on its caller's credential ------------------------------------------

BACKEND = yaml.safe_dump(sort_keys=False, data={
    "openapi": "3.0.3", "info": {"title": "backend", "version": "1"},
    "components": {"securitySchemes": {"key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                                       "tok": {"type": "http", "scheme": "bearer"}}},
    "paths": {"/whoami": _op("whoami", [{"key": []}]), "/whoami_bearer": _op("whoami_bearer", [{"tok": []}])},
})
GATEWAY = yaml.safe_dump(sort_keys=False, data={
    "openapi": "3.0.3", "info": {"title": "gateway", "version": "1"},
    "paths": {"/relay": _op("relay", [], handler="relay"), "/relay_bearer": _op("relay_bearer", [], handler="relay_bearer")},
})


@pytest.fixture
def gateway():
    backend_api = ApiPool.add("sc_backend_server", yaml_str=BACKEND)
    backend_app = counting(Flask("backend"))
    backend_api.spawn_api(backend_app, security={
        "key": api_keys({"alice-key": "alice", "bob-key": "bob"}),
        "tok": lambda token, _scopes: {"alice-token": "alice"}.get(token),
    })
    gateway_api = ApiPool.add("sc_gateway", yaml_str=GATEWAY)
    gateway_app = counting(Flask("gateway"))
    gateway_api.spawn_api(gateway_app)
    with live(backend_app) as backend, live(gateway_app) as gw:
        ApiPool.add("sc_backend", yaml_str=BACKEND, host=backend.url, retry=FAST,
                    credentials={"key": FORWARD, "tok": FORWARD})
        gw.backend_app = backend_app
        yield gw


def test_forward_passes_on_each_callers_api_key(gateway):
    for key, who in (("alice-key", "alice"), ("bob-key", "bob"), ("alice-key", "alice")):
        answer = requests.get(gateway.url + "/relay", headers={"X-API-Key": key}, timeout=5)
        assert answer.status_code == 200, answer.text
        got = answer.json()
        assert got["principal"] == who and got["headers"]["x-api-key"] == key
        assert "authorization" not in got["headers"]
    assert [s[2] for s in gateway.backend_app.seen] == ["alice-key", "bob-key", "alice-key"]


def test_forward_passes_on_the_bearer_token(gateway):
    answer = requests.get(gateway.url + "/relay_bearer", headers={"Authorization": "Bearer alice-token"}, timeout=5)
    assert answer.status_code == 200, answer.text
    assert answer.json()["principal"] == "alice" and answer.json()["headers"]["authorization"] == "Bearer alice-token"


@pytest.mark.parametrize("path, headers", [
    ("/relay", {}),
    ("/relay", {"Authorization": "Bearer alice-token"}),  # another scheme's credential is not this one's
    ("/relay_bearer", {}),
    ("/relay_bearer", {"Authorization": "Basic " + B64(b"alice:pw").decode()}),
    ("/relay_bearer", {"X-API-Key": "alice-key"}),
])
def test_forward_without_an_incoming_credential_fails_before_calling(gateway, path, headers):
    answer = requests.get(gateway.url + path, headers=headers, timeout=5)
    assert answer.status_code == 502
    assert "alice" not in answer.text
    assert gateway.backend_app.seen == []  # the backend got nothing


def test_forward_of_a_refused_credential_is_a_502(gateway):
    answer = requests.get(gateway.url + "/relay", headers={"X-API-Key": "mallory-key"}, timeout=5)
    assert answer.status_code == 502 and "mallory" not in answer.text
    assert [s[2] for s in gateway.backend_app.seen] == ["mallory-key"]


def test_forward_outside_a_request_fails_clearly(gateway):
    with pytest.raises(ClientError, match="FORWARD for scheme 'key' needs a request being served"):
        ApiPool.sc_backend.client.whoami().call()
    assert gateway.backend_app.seen == []


# -- credentials stay with their API, and out of messages ----------------------------------------------

def test_redirects_are_not_followed_so_credentials_stay_home():
    elsewhere = counting(Flask("elsewhere"))
    elsewhere.route("/<path:path>", methods=["GET", "POST"])(lambda path: {"stolen": True})
    with live(elsewhere) as other:
        redirector = counting(Flask("redirector"))
        redirector.get("/<path:path>", endpoint="away")(lambda path: redirect(f"{other.url}/{path}?{request.query_string.decode()}", 302))
        redirector.post("/token", endpoint="token_away")(lambda: redirect(other.url + "/token", 307))
        with live(redirector) as home:
            api = ApiPool.add("echo", yaml_str=ECHO, host=home.url, retry=FAST,
                              credentials={"hkey": "home-key", "basic": ("u", "home-pw"), "qkey": "home-q"})
            for op in ("hkey", "basic", "qkey"):
                with pytest.raises(RemoteError) as e:
                    getattr(api.client, op)().call()
                assert e.value.status_code == 302 and e.value.headers["Location"].startswith(other.url)
                assert "home-" not in str(e.value)
            assert [s[0] for s in redirector.seen] == ["/hkey", "/basic", "/qkey"]
            assert redirector.seen[2][3] == "api_key=home-q"
            # nor does the token request follow one
            grant = ClientCredentials(home.url + "/token", CLIENT_ID, SECRET)
            with pytest.raises(ClientError, match="was refused: 307"):
                grant.token()
            assert redirector.seen[-1][0] == "/token"
    assert elsewhere.seen == []


def test_credentials_go_only_to_their_own_api(echo_server):
    other_app = counting(Flask("other"))
    other_app.route("/public")(lambda: {"ok": True})
    with live(other_app) as other:
        mine = echo_api(echo_server, {"hkey": "mine", "ckey": "cookie-mine"})
        theirs = ApiPool.add("theirs", yaml_str=ECHO, host=other.url)
        assert mine.client.hkey().call()["headers"]["x-api-key"] == "mine"
        assert mine.client.ckey().call()["cookies"] == {"session": "cookie-mine"}
        assert theirs.client.public().call() == {"ok": True}
        assert other_app.seen[0][1:] == (None, None, "", None)
    # nothing was left on the shared session, where any request it sends would pick it up
    session = mine.client._transport.session
    assert session.auth is None and not list(session.cookies) and "X-API-Key" not in session.headers


def test_a_connection_failure_does_not_show_a_query_key():
    key = "query-s3cr3t-key"
    api = ApiPool.add("echo", yaml_str=ECHO, host=f"http://127.0.0.1:{free_port()}", retry=FAST, credentials={"qkey": key})
    with pytest.raises(CallConnectionError) as e:
        api.client.qkey().call()
    assert "connection refused" in str(e.value)
    assert key not in str(e.value) and key not in repr(e.value)
    assert key not in "".join(traceback.format_exception(e.value))


@pytest.mark.parametrize("key", [
    "query-s3cr3t-key",
    "query s3cr3t key",  # travels as query+s3cr3t+key
    "q" * 40 + "s3cr3t" + "y" * 160,  # a long key, past any cut of the message
])
def test_a_tls_failure_does_not_show_a_query_key(echo_server, key):
    """https to a plain http server: requests' error quotes the URL, query and all."""
    api = ApiPool.add("echo", yaml_str=ECHO, host=echo_server.url.replace("http://", "https://"), retry=FAST,
                      credentials={"qkey": key})
    with pytest.raises(ClientError) as e:
        api.client.qkey().call(max_attempts=1)
    text = "".join(traceback.format_exception(e.value))
    assert "s3cr3t" not in text, str(e.value)


def test_a_tls_failure_does_not_show_a_header_key_or_password(echo_server):
    api = ApiPool.add("echo", yaml_str=ECHO, host=echo_server.url.replace("http://", "https://"), retry=FAST,
                      credentials={"hkey": "header-s3cr3t", "basic": ("bob", "basic-s3cr3t")})
    for op in ("hkey", "basic"):
        with pytest.raises(ClientError) as e:
            getattr(api.client, op)().call(max_attempts=1)
        assert "s3cr3t" not in "".join(traceback.format_exception(e.value))


# -- found by review -------------------------------------------------------------------------

@pytest.mark.parametrize("credentials", [{"hkey": " padded"}, {"hkey": "padded "}, {"ckey": "x; role=admin"},
                                         {"ckey": 'a"b'}, {"ckey": "a,b"}, {"ckey": "a b"}])
def test_credentials_that_would_change_the_request_are_refused_at_add_time(credentials):
    with pytest.raises(KlueException) as e:
        ApiPool.add("echo", yaml_str=ECHO, host="http://127.0.0.1:9", credentials=credentials)
    assert list(credentials.values())[0] not in str(e.value)


def test_a_client_error_keeps_no_cause_that_could_quote_a_credential():
    port = free_port()
    api = ApiPool.add("echo", yaml_str=ECHO, host=f"http://127.0.0.1:{port}", credentials={"hkey": "TOP-SECRET-9"},
                      retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ClientError) as e:
        api.client.hkey().call()
    assert e.value.__cause__ is None and "TOP-SECRET-9" not in str(e.value)


def test_threads_waiting_for_a_failing_token_endpoint_share_its_failure():
    """One slow failure, not one per waiting thread in turn."""
    import threading

    hits = []
    app = Flask("slow_tokens")

    @app.post("/token")
    def token():
        hits.append(1)
        time.sleep(0.3)
        return {"error": "temporarily_unavailable"}, 503

    with live(app) as server:
        grant = ClientCredentials(f"{server.url}/token", "id", "secret")
        failures = []

        def ask():
            try:
                grant.token()
            except ClientError as e:
                failures.append(e)

        threads = [threading.Thread(target=ask) for _ in range(6)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        elapsed = time.monotonic() - started
    assert len(failures) == 6 and all("secret" not in str(f) for f in failures)
    assert len(hits) <= 2 and elapsed < 1.5, (len(hits), elapsed)
