"""Handlers of specs/petstore.yaml, with pets kept in memory through x-persist.

Run the demo with ``python -m examples.petstore`` (serves on 127.0.0.1:8080).
"""
from __future__ import annotations

import itertools
import os
import threading
from typing import Any

from flask import Flask

from klue.exceptions import NotFound
from klue.swagger import ApiPool

SPEC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "specs", "petstore.yaml")


class PetStorage:
    """The x-persist class of Pet: a thread-safe dict standing in for a database."""

    _pets: dict[int, dict] = {}
    _ids = itertools.count(1)
    _lock = threading.Lock()

    @staticmethod
    def save_to_db(pet: Any) -> Any:
        with PetStorage._lock:
            if pet.id is None:
                pet.id = next(PetStorage._ids)
            PetStorage._pets[pet.id] = ApiPool.petstore.model_to_json(pet)
        return pet

    @staticmethod
    def load_from_db(pet_id: int | None = None, kind: str | None = None, limit: int = 100) -> list:
        with PetStorage._lock:
            rows = [PetStorage._pets[pet_id]] if pet_id in PetStorage._pets else [] if pet_id else list(PetStorage._pets.values())
        rows = [r for r in rows if kind is None or r.get("kind") == kind][:limit]
        return [ApiPool.petstore.json_to_model("Pet", r) for r in rows]

    @staticmethod
    def delete(pet_id: int) -> bool:
        with PetStorage._lock:
            return PetStorage._pets.pop(pet_id, None) is not None


def list_pets(kind: str | None = None, limit: int = 20) -> list:
    return ApiPool.petstore.model.Pet.load_from_db(kind=kind, limit=limit)


def create_pet(new_pet: Any) -> tuple:
    Pet = ApiPool.petstore.model.Pet
    pet = Pet(name=new_pet.name, kind=new_pet.kind, born=new_pet.born)
    return pet.save_to_db(), 201


def get_pet(pet_id: int) -> Any:
    found = ApiPool.petstore.model.Pet.load_from_db(pet_id=pet_id)
    if not found:
        raise NotFound(f"no pet with id {pet_id}")
    return found[0]


def delete_pet(pet_id: int) -> tuple:
    if not PetStorage.delete(pet_id):
        raise NotFound(f"no pet with id {pet_id}")
    return None, 204


def create_app() -> Flask:
    app = Flask("petstore")
    ApiPool.add("petstore", yaml_path=SPEC)
    ApiPool.petstore.spawn_api(app)
    return app


if __name__ == "__main__":
    port = int(os.environ.get("PORT", "8080"))
    print(f"Petstore demo on http://127.0.0.1:{port}/v1/pets (Ctrl-C to stop)")
    create_app().run(host="127.0.0.1", port=port)
