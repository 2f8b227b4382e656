"""Handlers of specs/gateway.yaml: fan out to the petstore, merge the results.

When the gateway is served alone, it calls the petstore at ``$PETSTORE_URL``
(default ``http://127.0.0.1:8080``: the demo's specs name no host, since
where a service runs is the deployment's choice). Adding a pet passes the caller's API key
on to the petstore (``FORWARD``).
"""
from __future__ import annotations

import os
from typing import Any

from klue.security import FORWARD
from klue.swagger import ApiPool, get_call_id
from klue.swagger.client import async_call

KINDS = ("cat", "dog", "bird", "fish")
PETSTORE_SPEC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "specs", "petstore.yaml")


DEFAULT_PETSTORE_URL = "http://127.0.0.1:8080"

#: What the gateway sends the petstore: the API key its own caller gave.
PETSTORE_CREDENTIALS = {"api_key": FORWARD}


def petstore() -> Any:
    """The petstore API: the one served beside us (``klue serve`` of both specs), or a client of a remote one."""
    if "petstore" not in ApiPool:
        ApiPool.add("petstore", yaml_path=PETSTORE_SPEC, host=os.environ.get("PETSTORE_URL", DEFAULT_PETSTORE_URL),
                    credentials=PETSTORE_CREDENTIALS)
    elif ApiPool.petstore.credentials != PETSTORE_CREDENTIALS:
        ApiPool.petstore.set_credentials(PETSTORE_CREDENTIALS)
    return ApiPool.petstore


def summary() -> Any:
    client = petstore().client
    per_kind = async_call(*[client.list_pets(kind=kind, limit=100) for kind in KINDS])
    Summary, KindCount = ApiPool.gateway.model.Summary, ApiPool.gateway.model.KindCount
    kinds = [KindCount(kind=kind, count=len(pets)) for kind, pets in zip(KINDS, per_kind)]
    return Summary(total=sum(k.count for k in kinds), kinds=kinds, call_id=get_call_id())


def add_pet(new_pet: Any) -> tuple:
    fields = {"name": new_pet.name, "kind": new_pet.kind}
    pet = petstore().client.create_pet({k: v for k, v in fields.items() if v is not None}).call()
    return {k: v for k, v in (("id", pet.id), ("name", pet.name), ("kind", pet.kind)) if v is not None}, 201
