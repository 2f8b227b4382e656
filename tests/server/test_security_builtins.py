"""klue.security's ready-made verifiers: jwt_bearer (keys given or from JWKS), api_keys, basic_users,
alone and behind a spawned API (401/403 and their WWW-Authenticate challenges, get_principal())."""
import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
import requests
import werkzeug.security
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from flask import Flask, jsonify
from werkzeug.security import generate_password_hash

import klue.security
from klue.exceptions import Forbidden
from klue.security import api_keys, basic_users, granted_scopes, jwt_bearer
from klue.swagger import ApiPool
from tests.handlers import secured_builtin
from tests.live import free_port, live, silent_server

SECRET = "an-hs256-secret-long-enough-for-sha256!!"  # >= 32 bytes: no InsecureKeyLengthWarning
FAST_PBKDF2 = "pbkdf2:sha256:1000"


# -- keys and tokens -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def keys():
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return {"rsa": rsa_key, "rsa_public": rsa_key.public_key(), "rsa_pem": pem, "attacker": attacker,
            "ec": ec_key, "ec_public": ec_key.public_key()}


def claims(**extra):
    now = int(time.time())
    base = {"sub": "alice", "iat": now, "exp": now + 300}
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def sign(payload, key, algorithm="RS256", kid=None):
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def hand_made(payload, header, secret: bytes | None):
    """A JWT built by hand: HMAC-SHA256 with ``secret`` as the signature, or none at all."""
    signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(payload).encode())
    signature = b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()) if secret is not None else ""
    return signing_input + "." + signature


def test_hand_made_tokens_are_real_hs256_tokens():
    """The confusion-attack tokens below are sound: the same builder makes tokens PyJWT accepts."""
    token = hand_made(claims(), {"alg": "HS256", "typ": "JWT"}, SECRET.encode())
    assert jwt_bearer(SECRET, algorithms=["HS256"])(token, [])["sub"] == "alice"


# -- jwt_bearer: construction --------------------------------------------------------------------

def test_jwt_bearer_needs_exactly_one_of_key_and_jwks_url():
    with pytest.raises(ValueError, match="exactly one"):
        jwt_bearer(algorithms=["RS256"])
    with pytest.raises(ValueError, match="exactly one"):
        jwt_bearer("k" * 32, jwks_url="http://127.0.0.1:1/jwks.json", algorithms=["RS256"])


def test_jwt_bearer_algorithms_must_be_a_list_not_a_string():
    with pytest.raises(TypeError, match="list"):
        jwt_bearer(SECRET, algorithms="HS256")


@pytest.mark.parametrize("algorithms", [[], (), [None], ["HS256", 256]])
def test_jwt_bearer_algorithms_must_name_at_least_one_algorithm(algorithms):
    with pytest.raises(ValueError):
        jwt_bearer(SECRET, algorithms=algorithms)


@pytest.mark.parametrize("algorithms", [["none"], ["None"], ["NONE"], ["HS256", "none"]])
def test_jwt_bearer_refuses_algorithm_none_at_construction(algorithms):
    with pytest.raises(ValueError, match="none"):
        jwt_bearer(SECRET, algorithms=algorithms)


def test_jwt_bearer_algorithms_is_required():
    with pytest.raises(TypeError):
        jwt_bearer(SECRET)  # no default: the caller must say which algorithms it trusts


# -- jwt_bearer: good tokens ---------------------------------------------------------------------

def test_rs256_token_gives_its_claims(keys):
    payload = claims(scope="pets:read", role="admin")
    verify = jwt_bearer(keys["rsa_public"], algorithms=["RS256"])
    assert verify(sign(payload, keys["rsa"]), ["pets:read"]) == payload


def test_rs256_with_a_pem_public_key(keys):
    verify = jwt_bearer(keys["rsa_pem"].decode(), algorithms=["RS256"])
    assert verify(sign(claims(), keys["rsa"]), [])["sub"] == "alice"


def test_es256_token_gives_its_claims(keys):
    payload = claims(sub="bob")
    verify = jwt_bearer(keys["ec_public"], algorithms=["ES256"])
    assert verify(sign(payload, keys["ec"], "ES256"), []) == payload


def test_hs256_token_gives_its_claims():
    payload = claims()
    assert jwt_bearer(SECRET, algorithms=["HS256"])(sign(payload, SECRET, "HS256"), []) == payload


# -- jwt_bearer: time ----------------------------------------------------------------------------

def test_expired_token_is_refused(keys):
    now = int(time.time())
    token = sign(claims(iat=now - 600, exp=now - 60), keys["rsa"])
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"])(token, []) is None


def test_leeway_tolerates_a_little_clock_skew_and_no_more(keys):
    now = int(time.time())
    token = sign(claims(iat=now - 600, exp=now - 30), keys["rsa"])
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"], leeway=120)(token, [])["sub"] == "alice"
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"], leeway=5)(token, []) is None


def test_not_yet_valid_token_is_refused(keys):
    token = sign(claims(nbf=int(time.time()) + 3600), keys["rsa"])
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"])(token, []) is None
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"], leeway=7200)(token, [])["sub"] == "alice"


def test_token_without_exp_is_refused_by_default(keys):
    token = sign(claims(exp=None), keys["rsa"])
    assert "exp" not in jwt.decode(token, options={"verify_signature": False})
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"])(token, []) is None


def test_require_can_be_relaxed_or_extended(keys):
    no_exp = sign(claims(exp=None), keys["rsa"])
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"], require=())(no_exp, [])["sub"] == "alice"
    no_jti = sign(claims(), keys["rsa"])
    with_jti = sign(claims(jti="1"), keys["rsa"])
    strict = jwt_bearer(keys["rsa_public"], algorithms=["RS256"], require=("exp", "jti"))
    assert strict(no_jti, []) is None
    assert strict(with_jti, [])["jti"] == "1"


# -- jwt_bearer: audience and issuer ---------------------------------------------------------------

def test_audience_must_match(keys):
    verify = jwt_bearer(keys["rsa_public"], algorithms=["RS256"], audience="pets-api")
    assert verify(sign(claims(aud="pets-api"), keys["rsa"]), [])["aud"] == "pets-api"
    assert verify(sign(claims(aud=["other", "pets-api"]), keys["rsa"]), [])["sub"] == "alice"
    assert verify(sign(claims(aud="billing-api"), keys["rsa"]), []) is None
    assert verify(sign(claims(), keys["rsa"]), []) is None  # no aud at all


def test_audience_may_be_several(keys):
    verify = jwt_bearer(keys["rsa_public"], algorithms=["RS256"], audience=("pets-api", "zoo-api"))
    assert verify(sign(claims(aud="zoo-api"), keys["rsa"]), [])["aud"] == "zoo-api"
    assert verify(sign(claims(aud="billing-api"), keys["rsa"]), []) is None


def test_issuer_must_match(keys):
    verify = jwt_bearer(keys["rsa_public"], algorithms=["RS256"], issuer="https://auth.example.com")
    assert verify(sign(claims(iss="https://auth.example.com"), keys["rsa"]), [])["sub"] == "alice"
    assert verify(sign(claims(iss="https://evil.example.com"), keys["rsa"]), []) is None
    assert verify(sign(claims(), keys["rsa"]), []) is None  # no iss at all


# -- jwt_bearer: signatures and algorithms ---------------------------------------------------------

def test_token_signed_by_another_key_is_refused(keys):
    token = sign(claims(), keys["attacker"])
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"])(token, []) is None


def test_tampered_payload_is_refused(keys):
    header, _, signature = sign(claims(), keys["rsa"]).split(".")
    forged = b64(json.dumps(claims(sub="root", scope="admin")).encode())
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"])(f"{header}.{forged}.{signature}", []) is None


def test_wrong_hs256_secret_is_refused():
    token = sign(claims(), "another-secret-that-is-long-enough-too!", "HS256")
    assert jwt_bearer(SECRET, algorithms=["HS256"])(token, []) is None


def test_algorithm_outside_the_list_is_refused(keys):
    token = sign(claims(), keys["rsa"], "RS512")  # the right key, an algorithm not allowed
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"])(token, []) is None
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256", "RS512"])(token, [])["sub"] == "alice"


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_unsigned_tokens_are_refused(keys, alg):
    token = hand_made(claims(scope="admin"), {"alg": alg, "typ": "JWT"}, None)
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"])(token, []) is None
    assert jwt_bearer(SECRET, algorithms=["HS256"])(token, []) is None


def test_pyjwt_alg_none_token_is_refused():
    token = jwt.encode(claims(), None, algorithm="none")
    assert jwt_bearer(SECRET, algorithms=["HS256"])(token, []) is None


@pytest.mark.parametrize("as_key", ["object", "pem_str", "pem_bytes"])
@pytest.mark.parametrize("algorithms", [["RS256"], ["RS256", "HS256"]])
def test_hs256_signed_with_the_rsa_public_key_is_refused(keys, as_key, algorithms):
    """The algorithm-confusion attack: the public key, which anyone has, used as an HMAC secret."""
    key = {"object": keys["rsa_public"], "pem_str": keys["rsa_pem"].decode(), "pem_bytes": keys["rsa_pem"]}[as_key]
    token = hand_made(claims(sub="root", scope="admin"), {"alg": "HS256", "typ": "JWT"}, keys["rsa_pem"])
    assert jwt_bearer(key, algorithms=algorithms)(token, []) is None


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "a.b", "....", "Bearer x", "eyJhbGciOiJSUzI1NiJ9",
                                   "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0", "é.è.à", "x" * 5000])
def test_garbage_is_refused_not_raised(keys, token):
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"])(token, []) is None
    assert jwt_bearer(SECRET, algorithms=["HS256"])(token, []) is None


def test_truncated_signature_is_refused(keys):
    token = sign(claims(), keys["rsa"])
    assert jwt_bearer(keys["rsa_public"], algorithms=["RS256"])(token[:-10], []) is None


# -- jwt_bearer with a JWKS endpoint ---------------------------------------------------------------

class Jwks:
    """A JWKS endpoint on a live server; ``hits`` counts fetches, ``status`` != 200 makes it fail."""

    def __init__(self, jwk_keys):
        self.keys = jwk_keys
        self.hits = 0
        self.status = 200
        self.app = Flask("jwks")
        self.app.add_url_rule("/jwks.json", "jwks", self.serve)
        self.url = None

    def serve(self):
        self.hits += 1
        if self.status != 200:
            return "key server trouble", self.status
        return jsonify({"keys": self.keys})


@pytest.fixture
def jwks(keys):
    rsa_jwk = jwt.algorithms.RSAAlgorithm.to_jwk(keys["rsa_public"], as_dict=True)
    ec_jwk = jwt.algorithms.ECAlgorithm.to_jwk(keys["ec_public"], as_dict=True)
    endpoint = Jwks([dict(rsa_jwk, kid="rsa-1", use="sig", alg="RS256"), dict(ec_jwk, kid="ec-1", use="sig", alg="ES256")])
    with live(endpoint.app) as server:
        endpoint.url = server.url + "/jwks.json"
        yield endpoint


def test_jwks_keys_are_found_by_kid(keys, jwks):
    verify = jwt_bearer(jwks_url=jwks.url, algorithms=["RS256", "ES256"])
    rsa_claims, ec_claims = claims(sub="rsa-user"), claims(sub="ec-user")
    assert verify(sign(rsa_claims, keys["rsa"], kid="rsa-1"), []) == rsa_claims
    assert verify(sign(ec_claims, keys["ec"], "ES256", kid="ec-1"), []) == ec_claims


def test_jwks_is_fetched_once_and_cached(keys, jwks):
    verify = jwt_bearer(jwks_url=jwks.url, algorithms=["RS256", "ES256"])
    assert jwks.hits == 0  # nothing fetched before the first token
    for i in range(5):
        assert verify(sign(claims(n=i), keys["rsa"], kid="rsa-1"), [])["n"] == i
    assert verify(sign(claims(), keys["ec"], "ES256", kid="ec-1"), [])["sub"] == "alice"
    assert jwks.hits == 1


def test_cached_keys_survive_a_key_server_outage(keys, jwks):
    verify = jwt_bearer(jwks_url=jwks.url, algorithms=["RS256"])
    assert verify(sign(claims(), keys["rsa"], kid="rsa-1"), [])["sub"] == "alice"
    jwks.status = 503
    assert verify(sign(claims(sub="again"), keys["rsa"], kid="rsa-1"), [])["sub"] == "again"
    assert jwks.hits == 1


def test_jwks_unknown_or_missing_kid_is_refused(keys, jwks):
    verify = jwt_bearer(jwks_url=jwks.url, algorithms=["RS256"])
    assert verify(sign(claims(), keys["rsa"], kid="rsa-1"), [])["sub"] == "alice"
    assert verify(sign(claims(), keys["attacker"], kid="rotated-away"), []) is None
    assert verify(sign(claims(), keys["rsa"]), []) is None  # no kid at all
    assert jwks.hits <= 2  # an unknown kid may force one refresh, not one per token
    for _ in range(3):
        assert verify(sign(claims(), keys["attacker"], kid="rotated-away"), []) is None
    assert jwks.hits <= 2


def test_jwks_token_signed_by_another_key_with_a_known_kid_is_refused(keys, jwks):
    verify = jwt_bearer(jwks_url=jwks.url, algorithms=["RS256"])
    assert verify(sign(claims(), keys["attacker"], kid="rsa-1"), []) is None


def test_jwks_algorithm_confusion_is_refused(keys, jwks):
    verify = jwt_bearer(jwks_url=jwks.url, algorithms=["RS256"])
    token = hand_made(claims(sub="root"), {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, keys["rsa_pem"])
    assert verify(token, []) is None
    unsigned = hand_made(claims(sub="root"), {"alg": "none", "typ": "JWT", "kid": "rsa-1"}, None)
    assert verify(unsigned, []) is None


def test_jwks_checks_audience_issuer_and_expiry_too(keys, jwks):
    verify = jwt_bearer(jwks_url=jwks.url, algorithms=["RS256"], audience="pets-api", issuer="https://auth.example.com")
    good = claims(aud="pets-api", iss="https://auth.example.com")
    assert verify(sign(good, keys["rsa"], kid="rsa-1"), []) == good
    assert verify(sign(dict(good, aud="billing-api"), keys["rsa"], kid="rsa-1"), []) is None
    assert verify(sign(dict(good, iss="https://evil.example.com"), keys["rsa"], kid="rsa-1"), []) is None
    assert verify(sign(dict(good, exp=int(time.time()) - 60), keys["rsa"], kid="rsa-1"), []) is None


def test_jwks_garbage_tokens_cost_no_fetch(jwks):
    verify = jwt_bearer(jwks_url=jwks.url, algorithms=["RS256"])
    for token in ("garbage", "a.b.c", ""):
        assert verify(token, []) is None
    assert jwks.hits == 0


def test_jwks_server_down_raises_rather_than_refusing_or_granting(keys):
    verify = jwt_bearer(jwks_url=f"http://127.0.0.1:{free_port()}/jwks.json", algorithms=["RS256"])
    with pytest.raises(jwt.PyJWKClientConnectionError):
        verify(sign(claims(), keys["rsa"], kid="rsa-1"), [])


def test_jwks_server_failing_raises(keys, jwks):
    jwks.status = 503
    verify = jwt_bearer(jwks_url=jwks.url, algorithms=["RS256"])
    with pytest.raises(jwt.PyJWKClientConnectionError):
        verify(sign(claims(), keys["rsa"], kid="rsa-1"), [])
    assert jwks.hits == 1


def test_jwks_timeout_is_honoured(keys):
    with silent_server("hang") as hung:
        verify = jwt_bearer(jwks_url=f"http://127.0.0.1:{hung.port}/jwks.json", algorithms=["RS256"], jwks_timeout=0.5)
        started = time.monotonic()
        with pytest.raises(jwt.PyJWKClientConnectionError):
            verify(sign(claims(), keys["rsa"], kid="rsa-1"), [])
        assert time.monotonic() - started < 5
        assert hung.hits == 1


# -- granted_scopes ------------------------------------------------------------------------------

def test_granted_scopes_reads_scope_and_scopes_claims():
    assert granted_scopes({"scope": "pets:read  pets:write"}) == {"pets:read", "pets:write"}
    assert granted_scopes({"scopes": ["pets:read", "admin"]}) == {"pets:read", "admin"}
    assert granted_scopes({"scope": ""}) == set()
    assert granted_scopes({"sub": "alice"}) is None


# -- api_keys ------------------------------------------------------------------------------------

@pytest.mark.parametrize("mapping", [{}, [("k", "p")], None, {"": "p"}, {1: "p"}, {"good": "p", b"bytes": "q"}])
def test_api_keys_refuses_bad_mappings(mapping):
    with pytest.raises(ValueError):
        api_keys(mapping)


def test_api_keys_gives_the_principal_of_a_known_key():
    alice, bob = {"name": "alice", "scopes": ["pets:read"]}, object()
    verify = api_keys({"key-of-alice-0123456789": alice, "key-of-bob-0123456789": bob, "clé-ünï": "uni"})
    assert verify("key-of-alice-0123456789", []) is alice
    assert verify("key-of-bob-0123456789", []) is bob
    assert verify("key-of-alice-0123456789", ["pets:read"]) is alice
    assert verify("clé-ünï", []) == "uni"


def test_api_keys_and_basic_users_refuse_scopes_their_principal_does_not_grant():
    """A principal without scopes grants none: a scoped operation answers 403, never lets it pass."""
    keys = api_keys({"k-ann": "ann", "k-dict": {"scopes": {"pets:write": True}}, "k-ok": {"scope": "pets:write"}})
    for key in ("k-ann", "k-dict"):
        with pytest.raises(Forbidden):
            keys(key, ["pets:write"])
    assert keys("k-ok", ["pets:write"]) == {"scope": "pets:write"}
    users = basic_users({"bob": "pw"})
    with pytest.raises(Forbidden):
        users("bob", "pw", ["pets:write"])
    assert users("bob", "pw", []) == "bob" and users("bob", "nope", ["pets:write"]) is None


def test_basic_users_mixing_plain_and_hashed_passwords_costs_the_same_for_everyone(monkeypatch):
    import werkzeug.security

    hashed = generate_password_hash("pw2", method="pbkdf2:sha256:1000")
    calls = []
    real = werkzeug.security.check_password_hash
    monkeypatch.setattr(werkzeug.security, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    verify = basic_users({"plain": "pw1", "hashed": hashed})  # rebuilt: it imports check_password_hash when built
    assert verify("plain", "pw1", []) == "plain" and verify("hashed", "pw2", []) == "hashed"
    assert verify("nobody", "pw1", []) is None
    assert len(calls) == 3  # the plain password was hashed too: each answer did one hash check


@pytest.mark.parametrize("guess", ["", "key-of-alice", "key-of-alice-01234567890", "KEY-OF-ALICE-0123456789",
                                   " key-of-alice-0123456789", "key-of-alice-012345678", "alice"])
def test_api_keys_refuses_near_misses(guess):
    assert api_keys({"key-of-alice-0123456789": "alice"})(guess, []) is None


def test_api_keys_confirms_with_compare_digest(monkeypatch):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(klue.security.hmac, "compare_digest", spy)
    verify = api_keys({"key-of-alice-0123456789": "alice"})
    assert verify("key-of-alice-0123456789", []) == "alice"
    assert compared == [(b"key-of-alice-0123456789", b"key-of-alice-0123456789")]


def test_api_keys_keeps_a_snapshot_of_the_mapping():
    mapping = {"key-of-alice-0123456789": "alice"}
    verify = api_keys(mapping)
    mapping["sneaked-in-later"] = "mallory"
    assert verify("sneaked-in-later", []) is None
    assert verify("key-of-alice-0123456789", []) == "alice"


def test_api_keys_a_configured_key_with_a_lone_surrogate_never_raises_at_verify_time():
    """Keys are digested with surrogatepass (an os.environ value with undecodable bytes has lone
    surrogates): such a key must be refused up front or work, not raise on each matching request."""
    key = "key-\udcff-0123456789"
    try:
        verify = api_keys({key: "p"})
    except ValueError:
        return
    assert verify(key, []) == "p"
    assert verify("key-\udcfe-0123456789", []) is None


# -- basic_users ---------------------------------------------------------------------------------

@pytest.mark.parametrize("mapping", [{}, None, [("a", "b")], {"alice": ""}, {"alice": 1}, {1: "pw"}, {"alice": None}])
def test_basic_users_refuses_bad_mappings(mapping):
    with pytest.raises(ValueError):
        basic_users(mapping)


def test_basic_users_plain_passwords():
    verify = basic_users({"alice": "wonderland", "bob": "pässwörd"})
    assert verify("alice", "wonderland", []) == "alice"
    assert verify("bob", "pässwörd", []) == "bob"
    for user, password in [("alice", "wonderlan"), ("alice", "wonderland "), ("alice", ""), ("alice", "WONDERLAND"),
                           ("bob", "wonderland"), ("Alice", "wonderland"), ("nobody", "wonderland"), ("", "")]:
        assert verify(user, password, []) is None, (user, password)


def test_basic_users_werkzeug_hashes():
    verify = basic_users({"alice": generate_password_hash("wonderland", method=FAST_PBKDF2),
                          "carol": generate_password_hash("s3cret", method="scrypt:1024:8:1")})
    assert verify("alice", "wonderland", []) == "alice"
    assert verify("carol", "s3cret", []) == "carol"
    assert verify("alice", "s3cret", []) is None
    assert verify("carol", "wonderland", []) is None
    assert verify("alice", "", []) is None


def test_basic_users_a_hash_is_not_a_password():
    stored = generate_password_hash("wonderland", method=FAST_PBKDF2)
    assert basic_users({"alice": stored})("alice", stored, []) is None


def test_basic_users_mixes_plain_and_hashed():
    verify = basic_users({"alice": "wonderland", "bob": generate_password_hash("builder", method=FAST_PBKDF2)})
    assert verify("alice", "wonderland", []) == "alice"
    assert verify("bob", "builder", []) == "bob"
    assert verify("alice", "builder", []) is None
    assert verify("bob", "wonderland", []) is None


@pytest.fixture
def hash_checks(monkeypatch):
    """Counts werkzeug's check_password_hash calls (patched before basic_users() imports it)."""
    calls = []
    real = werkzeug.security.check_password_hash

    def counting(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(werkzeug.security, "check_password_hash", counting)
    return calls


def test_basic_users_unknown_username_costs_a_hash_check(hash_checks):
    stored = generate_password_hash("builder", method=FAST_PBKDF2)
    verify = basic_users({"bob": stored})
    assert verify("bob", "wrong", []) is None
    assert hash_checks == [stored]
    assert verify("mallory", "wrong", []) is None
    assert hash_checks == [stored, stored]  # the same work as a known user's
    assert verify("bob", "builder", []) == "bob"
    assert len(hash_checks) == 3


def test_basic_users_the_decoy_check_never_grants(hash_checks):
    """An unknown username with the password of the hash used as decoy is still refused."""
    verify = basic_users({"bob": generate_password_hash("builder", method=FAST_PBKDF2)})
    assert verify("mallory", "builder", []) is None
    assert verify("", "builder", []) is None
    assert len(hash_checks) == 2


def test_basic_users_unknown_username_with_plain_passwords_does_a_comparison(monkeypatch):
    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(klue.security.hmac, "compare_digest", lambda a, b: compared.append(1) or real(a, b))
    verify = basic_users({"alice": "wonderland"})
    assert verify("nobody", "wonderland", []) is None
    assert verify("nobody", "\0decoy", []) is None  # nor does the decoy's own value
    assert len(compared) == 2


# -- behind a spawned API ------------------------------------------------------------------------

SPEC = """
openapi: 3.0.3
info: {title: Zoo, version: "1"}
servers: [{url: /api}]
components:
  schemas:
    Any: {type: object}
  securitySchemes:
    bearer: {type: http, scheme: bearer, bearerFormat: JWT}
    oauth:
      type: oauth2
      flows:
        clientCredentials:
          tokenUrl: https://auth.example.com/token
          scopes: {"pets:read": read pets, "pets:write": write pets}
    key: {type: apiKey, in: header, name: X-API-Key}
    basic: {type: http, scheme: basic}
paths:
  /me:
    get:
      security: [{bearer: []}]
      x-bind-server: tests.handlers.secured_builtin.whoami
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Any"}}}}}
  /pets:
    get:
      security: [{oauth: ["pets:read"]}]
      x-bind-server: tests.handlers.secured_builtin.read_pets
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Any"}}}}}
    post:
      security: [{oauth: ["pets:write"]}]
      x-bind-server: tests.handlers.secured_builtin.write_pet
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Any"}}}}}
  /pets/all:
    delete:
      security: [{oauth: ["pets:read", "pets:write"]}]
      x-bind-server: tests.handlers.secured_builtin.write_pet
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Any"}}}}}
  /keyed:
    get:
      security: [{key: []}]
      x-bind-server: tests.handlers.secured_builtin.whoami
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Any"}}}}}
  /basic:
    get:
      security: [{basic: []}]
      x-bind-server: tests.handlers.secured_builtin.whoami
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: "#/components/schemas/Any"}}}}}
"""

API_KEY = "zoo-key-0123456789abcdef"


@pytest.fixture
def seen():
    secured_builtin.seen.clear()
    yield secured_builtin.seen
    secured_builtin.seen.clear()


def zoo_app(bearer):
    api = ApiPool.add("zoo", yaml_str=SPEC)
    app = Flask("zoo")
    api.spawn_api(app, security={"bearer": bearer, "oauth": bearer, "key": api_keys({API_KEY: "zoo-robot"}),
                                 "basic": basic_users({"alice": generate_password_hash("wonderland", method=FAST_PBKDF2)})})
    return app


@pytest.fixture
def zoo(keys, seen):
    return zoo_app(jwt_bearer(keys["rsa_public"], algorithms=["RS256"], audience="zoo", issuer="https://auth.example.com"))


def zoo_token(keys, key="rsa", **extra):
    return sign(claims(aud="zoo", iss="https://auth.example.com", **extra), keys[key])


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_valid_token_reaches_the_handler_with_its_claims(zoo, keys, seen):
    token = zoo_token(keys, role="keeper")
    r = zoo.test_client().get("/api/me", headers=bearer(token))
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["sub"] == "alice"
    assert seen == [jwt.decode(token, options={"verify_signature": False})]
    assert seen[0]["role"] == "keeper"


@pytest.mark.parametrize("why", ["expired", "other key", "other audience", "other issuer", "garbage", "unsigned", "confused"])
def test_invalid_token_is_a_401_invalid_token(zoo, keys, seen, why):
    now = int(time.time())
    token = {
        "expired": lambda: zoo_token(keys, iat=now - 600, exp=now - 60),
        "other key": lambda: zoo_token(keys, key="attacker"),
        "other audience": lambda: sign(claims(aud="billing", iss="https://auth.example.com"), keys["rsa"]),
        "other issuer": lambda: sign(claims(aud="zoo", iss="https://evil.example.com"), keys["rsa"]),
        "garbage": lambda: "not-a-jwt",
        "unsigned": lambda: hand_made(claims(aud="zoo", iss="https://auth.example.com"), {"alg": "none"}, None),
        "confused": lambda: hand_made(claims(aud="zoo", iss="https://auth.example.com"), {"alg": "HS256"}, keys["rsa_pem"]),
    }[why]()
    r = zoo.test_client().get("/api/me", headers=bearer(token))
    assert r.status_code == 401
    assert r.headers.getlist("WWW-Authenticate") == ['Bearer realm="zoo", error="invalid_token"']
    assert r.get_json()["status"] == 401
    assert seen == []


def test_missing_token_is_a_401_without_error(zoo, seen):
    r = zoo.test_client().get("/api/me")
    assert r.status_code == 401
    assert r.headers.getlist("WWW-Authenticate") == ['Bearer realm="zoo"']
    assert seen == []


@pytest.mark.parametrize("grant", [{"scope": "pets:read"}, {"scopes": ["pets:read"]}, {"scope": ""}, {"scopes": []},
                                   {"scope": "pets:writer pets:read"}])
def test_insufficient_scope_is_a_403(zoo, keys, seen, grant):
    r = zoo.test_client().post("/api/pets", headers=bearer(zoo_token(keys, **grant)))
    assert r.status_code == 403
    assert r.headers.getlist("WWW-Authenticate") == ['Bearer realm="zoo", error="insufficient_scope", scope="pets:write"']
    assert r.get_json()["status"] == 403
    assert seen == []


@pytest.mark.parametrize("grant", [{"scope": "pets:read pets:write"}, {"scope": "pets:write"}, {"scopes": ["pets:write"]},
                                   {"scopes": ["admin", "pets:write"]}])
def test_sufficient_scope_passes(zoo, keys, seen, grant):
    r = zoo.test_client().post("/api/pets", headers=bearer(zoo_token(keys, **grant)))
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == {"written": True}
    assert len(seen) == 1 and seen[0]["sub"] == "alice"


def test_every_required_scope_is_needed(zoo, keys, seen):
    c = zoo.test_client()
    r = c.delete("/api/pets/all", headers=bearer(zoo_token(keys, scope="pets:read")))
    assert r.status_code == 403
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="zoo", error="insufficient_scope", scope="pets:read pets:write"'
    assert c.delete("/api/pets/all", headers=bearer(zoo_token(keys, scope="pets:write pets:read"))).status_code == 200
    assert len(seen) == 1


@pytest.mark.parametrize("grant", [{}, {"scope": None}, {"scope": 42}, {"scopes": {"pets:read": True}}, {"scope": True}],
                         ids=["no scope claim", "null scope", "numeric scope", "scopes object", "boolean scope"])
def test_token_without_usable_scopes_does_not_pass_a_scoped_operation(zoo, keys, seen, grant):
    """A JWT that grants no scope must not reach an operation that requires one (jwt_bearer ignores
    required_scopes, so nothing else checks them)."""
    token = sign(dict(claims(aud="zoo", iss="https://auth.example.com"), **grant), keys["rsa"])
    r = zoo.test_client().post("/api/pets", headers=bearer(token))
    assert r.status_code == 403, f"{grant}: got {r.status_code} {r.get_json()}"
    assert seen == []


def test_invalid_token_on_a_scoped_operation_is_still_a_401(zoo, keys, seen):
    r = zoo.test_client().post("/api/pets", headers=bearer(zoo_token(keys, key="attacker", scope="pets:write")))
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="zoo", error="invalid_token"'
    assert seen == []


def test_api_key_behind_the_api(zoo, seen):
    c = zoo.test_client()
    r = c.get("/api/keyed", headers={"X-API-Key": API_KEY})
    assert r.status_code == 200 and r.get_json() == {"sub": "zoo-robot"}
    assert seen == ["zoo-robot"]
    r = c.get("/api/keyed", headers={"X-API-Key": API_KEY[:-1]})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'ApiKey realm="zoo", in="header", name="X-API-Key"'
    assert seen == ["zoo-robot"]


def test_basic_user_behind_the_api(zoo, seen):
    def basic(user, password):
        return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}

    c = zoo.test_client()
    r = c.get("/api/basic", headers=basic("alice", "wonderland"))
    assert r.status_code == 200 and r.get_json() == {"sub": "alice"}
    for user, password in [("alice", "nope"), ("mallory", "wonderland")]:
        r = c.get("/api/basic", headers=basic(user, password))
        assert r.status_code == 401
        assert r.headers["WWW-Authenticate"] == 'Basic realm="zoo", charset="UTF-8"'
    assert seen == ["alice"]


def test_jwks_behind_a_live_api(keys, jwks, seen):
    app = zoo_app(jwt_bearer(jwks_url=jwks.url, algorithms=["RS256"], audience="zoo"))
    with live(app) as server:
        with requests.Session() as s:
            ok = s.get(server.url + "/api/me", headers=bearer(sign(claims(aud="zoo"), keys["rsa"], kid="rsa-1")), timeout=5)
            assert ok.status_code == 200 and ok.json()["sub"] == "alice"
            r = s.post(server.url + "/api/pets", headers=bearer(sign(claims(aud="zoo", scope="pets:read"), keys["rsa"],
                                                                           kid="rsa-1")), timeout=5)
            assert r.status_code == 403
            assert r.headers["WWW-Authenticate"] == 'Bearer realm="zoo", error="insufficient_scope", scope="pets:write"'
            r = s.get(server.url + "/api/me", headers=bearer(sign(claims(aud="zoo"), keys["rsa"], kid="nope")), timeout=5)
            assert r.status_code == 401
            assert r.headers["WWW-Authenticate"] == 'Bearer realm="zoo", error="invalid_token"'
    assert jwks.hits <= 2
    assert len(seen) == 1


def test_jwks_down_is_a_500_never_access(keys, seen):
    app = zoo_app(jwt_bearer(jwks_url=f"http://127.0.0.1:{free_port()}/jwks.json", algorithms=["RS256"], audience="zoo"))
    r = app.test_client().get("/api/me", headers=bearer(sign(claims(aud="zoo"), keys["rsa"], kid="rsa-1")))
    assert r.status_code == 500
    body = r.get_json()
    assert body["status"] == 500 and "127.0.0.1" not in json.dumps(body)  # the cause stays in the server log
    assert seen == []


def test_jwks_failing_is_a_500(keys, jwks, seen):
    jwks.status = 502
    app = zoo_app(jwt_bearer(jwks_url=jwks.url, algorithms=["RS256"], audience="zoo"))
    r = app.test_client().get("/api/me", headers=bearer(sign(claims(aud="zoo"), keys["rsa"], kid="rsa-1")))
    assert r.status_code == 500
    assert seen == []
