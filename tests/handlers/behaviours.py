"""Handlers whose result each test sets: ``behaviours.result = ...``."""
from flask import Response, abort, g

from klue.exceptions import KlueException

result = None
order: list = []


class Teapot(KlueException):
    status_code = 418
    code = "TEAPOT"


def respond(**kwargs):
    """Return (or raise) whatever the test put in ``result``."""
    value = result(**kwargs) if callable(result) else result
    if isinstance(value, BaseException):
        raise value
    return value


def plain_response(**kwargs):
    return Response("<b>raw</b>", status=203, mimetype="text/html")


def abort_404(**kwargs):
    abort(404, "no such thing")


def context(**kwargs):
    from klue.swagger import get_call_id, get_call_path

    return {"call_id": g.call_id, "call_path": g.call_path, "get_call_id": get_call_id(), "get_call_path": get_call_path()}


def tracing_decorator(name):
    def decorate(f):
        def wrapper(*args, **kwargs):
            order.append(f"{name}:before")
            out = f(*args, **kwargs)
            order.append(f"{name}:after")
            return out
        return wrapper
    return decorate


local_decorator = tracing_decorator("local")
global_decorator = tracing_decorator("global")


def request_path(**kwargs):
    """Which route answered: for tests that call operations by their client names."""
    from flask import request

    return {"path": request.path}
