"""Handlers behind klue.security's ready-made verifiers (tests/test_security_builtins.py)."""
from klue import get_principal

#: Each call's principal, as the handler saw it.
seen: list = []


def whoami(**kwargs):
    principal = get_principal()
    seen.append(principal)
    if isinstance(principal, dict):
        return {"sub": principal.get("sub"), "scope": principal.get("scope")}
    return {"sub": principal}


def write_pet(**kwargs):
    seen.append(get_principal())
    return {"written": True}


def read_pets(**kwargs):
    seen.append(get_principal())
    return {"pets": []}
