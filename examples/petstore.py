"""Handlers of specs/petstore.yaml; pets are stored in SQLite through x-persist.

The database file is ``$PETSTORE_DB``, by default ``petstore.sqlite3`` in the
working directory. Adding and deleting pets needs the API key
``$PETSTORE_API_KEY`` (by default ``demo-key``) in the ``X-API-Key`` header. Serve it with ``klue serve specs/petstore.yaml`` (or, with
the gateway, as README.rst shows).
"""
from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
from typing import Any, Iterator

from klue.exceptions import NotFound
from klue.security import api_keys
from klue.swagger import ApiPool

_COLUMNS = ("id", "name", "kind", "born")
DEMO_API_KEY = "demo-key"


def check_api_key(api_key: str, required_scopes: list) -> Any:
    """The verifier of the ``api_key`` scheme (``x-bind-security``): the principal, or None."""
    return _verifier(os.environ.get("PETSTORE_API_KEY") or DEMO_API_KEY)(api_key, required_scopes)


@functools.lru_cache(maxsize=4)
def _verifier(key: str) -> Any:
    return api_keys({key: {"name": "demo"}})


def database_path() -> str:
    return os.environ.get("PETSTORE_DB") or os.path.join(os.getcwd(), "petstore.sqlite3")


@contextlib.contextmanager
def _connect() -> Iterator[sqlite3.Connection]:
    # One connection per use: sqlite3 connections must not be shared across threads.
    connection = sqlite3.connect(database_path(), timeout=10)
    try:
        connection.execute("CREATE TABLE IF NOT EXISTS pets (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                           " name TEXT NOT NULL, kind TEXT, born TEXT)")
        with connection:  # commits, or rolls back on error
            yield connection
    finally:
        connection.close()


class PetStorage:
    """The x-persist class of Pet: ``Pet.load_from_db(...)`` and ``pet.save_to_db()``."""

    @staticmethod
    def save_to_db(pet: Any) -> Any:
        row = ApiPool.petstore.model_to_json(pet)
        with _connect() as db:
            if pet.id is None:
                cursor = db.execute("INSERT INTO pets (name, kind, born) VALUES (?, ?, ?)",
                                    (row["name"], row.get("kind"), row.get("born")))
                pet.id = cursor.lastrowid
            else:
                db.execute("REPLACE INTO pets (id, name, kind, born) VALUES (?, ?, ?, ?)",
                           (pet.id, row["name"], row.get("kind"), row.get("born")))
        return pet

    @staticmethod
    def load_from_db(pet_id: int | None = None, kind: str | None = None, limit: int = 100) -> list:
        query, args = "SELECT id, name, kind, born FROM pets WHERE 1=1", []
        if pet_id is not None:
            query, args = query + " AND id = ?", [*args, pet_id]
        if kind is not None:
            query, args = query + " AND kind = ?", [*args, kind]
        with _connect() as db:
            rows = db.execute(query + " ORDER BY id LIMIT ?", [*args, limit]).fetchall()
        to_model = ApiPool.petstore.json_to_model
        return [to_model("Pet", {k: v for k, v in zip(_COLUMNS, row) if v is not None}) for row in rows]

    @staticmethod
    def delete(pet_id: int) -> bool:
        with _connect() as db:
            return db.execute("DELETE FROM pets WHERE id = ?", (pet_id,)).rowcount > 0


def list_pets(kind: str | None = None, limit: int = 20) -> list:
    return ApiPool.petstore.model.Pet.load_from_db(kind=kind, limit=limit)


def create_pet(new_pet: Any) -> tuple:
    pet = ApiPool.petstore.model.Pet(name=new_pet.name, kind=new_pet.kind, born=new_pet.born)
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
