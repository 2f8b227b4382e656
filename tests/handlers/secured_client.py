"""Handlers of the secured APIs of tests/test_security_client.py: they tell what the request carried."""
from flask import request

from klue import get_principal
from klue.swagger import ApiPool


def echo():
    """The request's headers (names lower-cased), cookies and query, and who klue authenticated."""
    return {
        "headers": {name.lower(): value for name, value in request.headers.items()},
        "cookies": dict(request.cookies),
        "query": request.args.to_dict(flat=False),
        "principal": get_principal(),
    }


def relay():
    """The gateway: calls the backend, whose client forwards the caller's API key."""
    return ApiPool.sc_backend.client.whoami().call()


def relay_bearer():
    """The gateway: calls the backend, whose client forwards the caller's bearer token."""
    return ApiPool.sc_backend.client.whoami_bearer().call()
