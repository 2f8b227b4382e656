"""Handlers of bench/bench.yaml, for klue, plain Flask and connexion alike.

Each framework's handler does the same work: build the small item, or add up
the order's lines into a receipt. Only the way values come in and go out
differs (klue: models; plain Flask and connexion: dicts).
"""
from __future__ import annotations

import time

from klue.swagger import ApiPool

#: The name bench.yaml is loaded under in the server process.
API_NAME = "bench"
SLOW_SECONDS = 0.1


def item_data(item_id: int) -> dict:
    return {"id": item_id, "name": "widget", "price": 9.5, "tags": ["blue", "small"]}


def receipt_data(reference: str, lines: list, currency: str) -> dict:
    total = sum(line["quantity"] * line["unit_price"] for line in lines)
    return {"reference": reference, "total": round(total, 2), "lines": len(lines), "currency": currency}


# -- klue (x-bind-server): models in, models out ---------------------------------

#: The API keys of /secure-items: a dict lookup, the cheapest real verifier.
API_KEYS = {"bench-key": {"name": "bench"}}


def check_key(api_key: str, required_scopes: list | None = None):
    return API_KEYS.get(api_key)


def get_item(item_id: int):
    return ApiPool.get(API_NAME).model.Item(**item_data(item_id))


def create_order(order):
    total = sum(line.quantity * line.unit_price for line in order.lines)
    return ApiPool.get(API_NAME).model.Receipt(reference=order.reference, total=round(total, 2),
                                                lines=len(order.lines), currency=order.currency)


def slow():
    time.sleep(SLOW_SECONDS)
    return item_data(1)


# -- connexion 3 (resolved by operationId): dicts in, dicts out ------------------

def connexion_get_item(item_id: int):
    return item_data(item_id)


def connexion_create_order(body: dict):
    return receipt_data(body["reference"], body["lines"], body["currency"]), 201


def connexion_slow():
    time.sleep(SLOW_SECONDS)
    return item_data(1)


CONNEXION = {"get_item": connexion_get_item, "get_secure_item": connexion_get_item, "create_order": connexion_create_order,
             "slow": connexion_slow}
