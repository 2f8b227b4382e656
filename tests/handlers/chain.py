"""Service A calls service B (tests/specs/chain_*.yaml)."""
import time

from flask import g

from klue.exceptions import KlueException
from klue.swagger import ApiPool
from klue.swagger.client import async_call


def hop():
    direct = ApiPool.chain_b.client.who().call()
    parallel = async_call(ApiPool.chain_b.client.who(n=1), ApiPool.chain_b.client.who(n=2))
    as_json = ApiPool.chain_b.model_to_json
    return {"a": {"call_id": g.call_id, "call_path": g.call_path},
            "b": as_json(direct), "parallel": [as_json(p) for p in parallel]}


def who(n):
    return ApiPool.chain_b.model.Trace(call_id=g.call_id, call_path=g.call_path, n=n)


def sleep(ms, n, fail):
    time.sleep(ms / 1000)
    if fail:
        raise KlueException(f"failing {n}", status_code=409)
    return ApiPool.chain_b.model.Trace(call_id=g.call_id, call_path=g.call_path, n=n)
