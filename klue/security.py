"""Ready-made verifiers for a spec's security schemes, and the client's credential values.

Server side, each is a verifier to bind to a scheme, with ``spawn_api(app,
security={"scheme": verifier})``:

* ``jwt_bearer(key, algorithms=["RS256"], audience=..., issuer=...)``: JWTs,
  checked by PyJWT (``pip install 'klue-client-server[jwt]'``), keys given or
  fetched from a JWKS URL; returns the token's claims.
* ``api_keys({key: principal})``: a fixed set of API keys.
* ``basic_users({username: password_or_hash})``: HTTP basic users, with
  plain passwords or werkzeug's password hashes.

Client side, values for ``ApiPool.add(..., credentials={...})``:
``ClientCredentials`` (the OAuth2 client-credentials grant) and ``FORWARD``.

Secrets are compared in constant time (``hmac.compare_digest``, werkzeug's
``check_password_hash``); nothing here is hand-written crypto.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .client.credentials import FORWARD, ClientCredentials
from .context import get_principal
from .exceptions import Forbidden
from .server.security import granted_scopes

Verifier = Callable[..., Any]
#: werkzeug's hash formats: ``method$salt$hash`` (pbkdf2:sha256:600000$..., scrypt:32768:8:1$...).
_HASH_METHODS = ("pbkdf2:", "scrypt:")


def jwt_bearer(
    key: Any = None,
    *,
    jwks_url: str | None = None,
    algorithms: Iterable[str],
    audience: str | Iterable[str] | None = None,
    issuer: str | None = None,
    leeway: float = 0,
    require: Iterable[str] = ("exp",),
    jwks_timeout: float = 10.0,
) -> Verifier:
    """A bearer verifier for JWTs: ``verify(token, required_scopes)`` returns the claims, or None.

    Give exactly one of ``key`` (a secret for HS*, a public key for RS*/ES*/EdDSA)
    or ``jwks_url`` (keys fetched by PyJWT's ``PyJWKClient``, by the token's
    ``kid``, and cached). Only ``algorithms`` are accepted (``none`` never);
    expired, not yet valid, wrong audience or issuer, badly signed, and tokens
    without the ``require``d claims (``exp`` by default) are refused. The
    ``scope``/``scopes`` claim is then checked against the operation's scopes.
    """
    try:
        import jwt
    except ImportError:  # pragma: no cover - depends on the extra being installed
        raise ImportError("jwt_bearer needs PyJWT: pip install 'klue-client-server[jwt]'") from None
    allowed = _check_algorithms(algorithms)
    if (key is None) == (jwks_url is None):
        raise ValueError("jwt_bearer needs exactly one of key or jwks_url")
    jwks = jwt.PyJWKClient(jwks_url, timeout=jwks_timeout) if jwks_url is not None else None
    options: Any = {"require": list(require)}  # jwt.types.Options since PyJWT 2.10, a plain dict before
    unreachable = getattr(jwt, "PyJWKClientConnectionError", ())  # PyJWT 2.10+ tells a key server down apart
    audiences = [audience] if isinstance(audience, str) else (list(audience) if audience is not None else None)

    def verify_jwt(token: str, required_scopes: list[str]) -> Any:
        try:
            signing_key = jwks.get_signing_key_from_jwt(token).key if jwks is not None else key
            claims = jwt.decode(
                token,
                signing_key,
                algorithms=allowed,
                audience=audiences,
                issuer=issuer,
                leeway=leeway,
                options=options,
            )
        except unreachable:
            raise  # the key server is down: the server's trouble (a 500, logged), never access
        except (jwt.PyJWTError, ValueError, TypeError):  # PyJWKClientError is a PyJWTError too
            return None
        _check_scopes(claims, required_scopes)
        return claims

    verify_jwt.__qualname__ = "jwt_bearer.verify_jwt"
    return verify_jwt


def _check_algorithms(algorithms: Iterable[str]) -> list[str]:
    if isinstance(algorithms, str):
        raise TypeError("algorithms must be a list, like ['RS256']")
    allowed = list(algorithms)
    if not allowed or not all(isinstance(a, str) for a in allowed):
        raise ValueError("algorithms must name at least one algorithm, like ['RS256']")
    if any(a.lower() == "none" for a in allowed):
        raise ValueError("algorithm 'none' accepts unsigned tokens; it is never allowed")
    return allowed


def api_keys(keys: Mapping[str, Any]) -> Verifier:
    """An apiKey verifier: ``verify(api_key, required_scopes)`` returns ``keys[api_key]``, or None.

    Keys are looked up by their SHA-256 digest and confirmed with
    ``hmac.compare_digest``, so the time taken says nothing about how much of
    a key an attacker guessed right. A principal may carry ``scopes``.
    """
    if not isinstance(keys, Mapping) or not keys:
        raise ValueError("api_keys needs a non-empty mapping of keys to principals")
    if not all(isinstance(k, str) and k for k in keys):
        raise ValueError("api_keys: every key must be a non-empty string")
    by_digest = {_digest(k): (k, principal) for k, principal in keys.items()}

    def verify_api_key(api_key: str, required_scopes: list[str]) -> Any:
        found = by_digest.get(_digest(api_key))
        if found is None or not hmac.compare_digest(
            found[0].encode("utf-8", "surrogatepass"), api_key.encode("utf-8", "surrogatepass")
        ):
            return None
        _check_scopes(found[1], required_scopes)
        return found[1]

    verify_api_key.__qualname__ = "api_keys.verify_api_key"
    return verify_api_key


def _check_scopes(principal: Any, required_scopes: list[str]) -> None:
    """A principal that grants no scopes grants none of the required ones (a 403, not a pass);
    klue words the 403 and its challenge, naming the scopes."""
    if required_scopes and not set(required_scopes) <= (granted_scopes(principal) or set()):
        raise Forbidden()


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def basic_users(users: Mapping[str, str]) -> Verifier:
    """A basic verifier: ``verify(username, password, required_scopes)`` returns the username, or None.

    A value is a plain password, compared in constant time, or a werkzeug hash
    (``werkzeug.security.generate_password_hash``), checked by werkzeug. An
    unknown username costs what a known one does, so timing does not tell
    which usernames exist: when some values are hashes, the plain ones are
    hashed too, here, once. A username carries no scopes, so an operation
    that requires scopes refuses basic users (403).
    """
    from werkzeug.security import check_password_hash, generate_password_hash

    if not isinstance(users, Mapping) or not users:
        raise ValueError("basic_users needs a non-empty mapping of usernames to passwords or hashes")
    if not all(isinstance(u, str) and isinstance(p, str) and p for u, p in users.items()):
        raise ValueError("basic_users: usernames and passwords must be strings, passwords non-empty")
    if any(p.startswith(_HASH_METHODS) for p in users.values()):
        users = {u: p if p.startswith(_HASH_METHODS) else generate_password_hash(p) for u, p in users.items()}
    else:
        users = dict(users)
    decoy = next(iter(users.values()))  # the same kind of work as a known user's

    def check(stored: str, password: str) -> bool:
        if stored.startswith(_HASH_METHODS):
            return check_password_hash(stored, password)
        return hmac.compare_digest(stored.encode("utf-8", "surrogatepass"), password.encode("utf-8", "surrogatepass"))

    def verify_basic_user(username: str, password: str, required_scopes: list[str]) -> Any:
        stored = users.get(username)
        if stored is None:
            check(decoy, password)  # the same work, the answer thrown away
            return None
        if not check(stored, password):
            return None
        _check_scopes(username, required_scopes)
        return username

    verify_basic_user.__qualname__ = "basic_users.verify_basic_user"
    return verify_basic_user


__all__ = ["FORWARD", "ClientCredentials", "api_keys", "basic_users", "get_principal", "granted_scopes", "jwt_bearer"]
