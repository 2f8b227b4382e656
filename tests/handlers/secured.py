"""Handlers and verifiers for tests/test_security_server.py.

``calls`` records every handler call, ``seen`` every call of the verifiers
bound here by dotted path (``x-bind-security``, connexion's ``x-*InfoFunc``).
"""
from flask import g

from klue import get_principal as klue_get_principal
from klue.swagger import get_principal as swagger_get_principal

calls: list = []
seen: list = []

NOT_CALLABLE = 42


def reset() -> None:
    calls.clear()
    seen.clear()


def plain(value):
    """A principal as JSON can carry it (objects as their attributes, sets sorted)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "__dict__"):
        return plain(vars(value))
    return value


def whoami(**kwargs):
    """Echo who the request was authenticated as, every way a handler can ask."""
    calls.append(kwargs)
    return {
        "principal": plain(g.get("principal", "<unset>")),
        "get_principal": plain(klue_get_principal()),
        "swagger_get_principal": plain(swagger_get_principal()),
        "principals": plain(g.get("principals", "<unset>")),
    }


def strict_whoami(**kwargs):
    """Read ``g.principal`` as a plain attribute, as a handler would."""
    calls.append(kwargs)
    return {"principal": g.principal}


def accept(*args, **kwargs):
    calls.append((args, kwargs))
    return {"ok": True}


# -- klue-style verifiers (x-bind-security) ---------------------------------------------

def bound_key(api_key, required_scopes):
    seen.append(("bound_key", (api_key, required_scopes), {}))
    return {"via": "x-bind-security"} if api_key == "good-key" else None


# -- connexion-style verifiers (x-apikeyInfoFunc, x-basicInfoFunc, ...) ------------------

def cx_key(api_key):
    seen.append(("cx_key", (api_key,), {}))
    return {"via": "x-apikeyInfoFunc"} if api_key == "good-key" else None


def cx_key_scopes(api_key, required_scopes=None):
    seen.append(("cx_key_scopes", (api_key,), {"required_scopes": required_scopes}))
    return {"via": "x-apikeyInfoFunc+scopes"} if api_key == "good-key" else None


def cx_basic(username, password):
    seen.append(("cx_basic", (username, password), {}))
    return {"sub": username} if (username, password) == ("alice", "pw") else None


def cx_basic_scopes(username, password, required_scopes=None):
    seen.append(("cx_basic_scopes", (username, password), {"required_scopes": required_scopes}))
    return {"sub": username} if (username, password) == ("alice", "pw") else None


def cx_bearer(token):
    seen.append(("cx_bearer", (token,), {}))
    return {"sub": "bearer-user"} if token == "good-token" else None


def cx_token_scopes(token, required_scopes):
    seen.append(("cx_token_scopes", (token,), {"required_scopes": required_scopes}))
    if token == "read-token":
        return {"sub": "reader", "scope": "read"}
    if token == "rw-token":
        return {"sub": "writer", "scope": "read write"}
    return None


def cx_token_kwargs(token, **kwargs):
    seen.append(("cx_token_kwargs", (token,), kwargs))
    return {"sub": "kw", "scope": "read"} if token == "read-token" else None
