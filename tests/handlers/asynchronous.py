"""async def handlers and decorators (tests/specs/asynchronous.yaml)."""
import asyncio
import functools
import threading

from flask import g, request

from klue import get_call_id, get_call_path, get_principal
from klue.exceptions import NotFound
from klue.swagger import ApiPool
from klue.swagger.client import async_call

#: What the handlers saw, for the tests to look at.
seen: dict = {}


async def get_pet(pet_id):
    await asyncio.sleep(0)
    seen["thread"] = threading.get_ident()
    if pet_id == 0:
        raise NotFound(f"no pet {pet_id}")
    if pet_id == 13:
        raise RuntimeError("secret internals of pet 13")
    return ApiPool.asynchronous.model.Pet(id=pet_id, name=f"pet {pet_id}")


def get_pet_sync(pet_id):
    return ApiPool.asynchronous.model.Pet(id=pet_id, name=f"pet {pet_id}")


async def create_pet(body):
    await asyncio.sleep(0)
    return body, 201


async def whoami():
    await asyncio.sleep(0)
    return {"principal": get_principal(), "g_principal": g.principal, "call_id": get_call_id(),
            "call_path": get_call_path(), "path": request.path}


async def hop():
    """Calls service B (tests/specs/chain_b.yaml) from inside an async handler."""
    await asyncio.sleep(0)
    direct = ApiPool.chain_b.client.who().call()
    parallel = async_call(ApiPool.chain_b.client.who(n=1), ApiPool.chain_b.client.who(n=2))
    as_json = ApiPool.chain_b.model_to_json
    return {"a": {"call_id": get_call_id(), "call_path": get_call_path()},
            "b": as_json(direct), "parallel": [as_json(p) for p in parallel]}


async def slow(ms):
    await asyncio.sleep(ms / 1000)
    return {"ok": True, "thread": threading.get_ident()}


def plain():
    return {"layers": []}


async def plain_async():
    return {"layers": []}


def _layer(result, name):
    result["layers"].append(name)
    return result


def sync_wraps(handler):
    """A sync decorator that keeps functools.wraps: the handler's coroutine passes through it."""
    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        return handler(*args, **kwargs)
    return wrapper


def sync_hiding(handler):
    """A sync decorator without functools.wraps: nothing on it says the handler is async."""
    def wrapper(*args, **kwargs):
        return handler(*args, **kwargs)
    return wrapper


def async_deco(handler):
    """An async decorator, around a sync or an async handler."""
    @functools.wraps(handler)
    async def wrapper(*args, **kwargs):
        result = handler(*args, **kwargs)
        if asyncio.iscoroutine(result):
            result = await result
        return _layer(result, "async_deco")
    return wrapper


def global_async(handler):
    """spawn_api(decorator=...): async, around every handler (mocks included)."""
    @functools.wraps(handler)
    async def wrapper(*args, **kwargs):
        g.global_async = True
        result = handler(*args, **kwargs)
        if asyncio.iscoroutine(result):
            result = await result
        return result
    return wrapper


def returns_coroutine():
    """A sync function that hands back a coroutine: klue cannot see it coming."""
    return plain_async()
