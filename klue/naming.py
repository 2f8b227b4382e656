"""Python names for what specs and files call things: callers, APIs."""

from __future__ import annotations

import keyword
import os
import re
import unicodedata


def python_name(name: str) -> str:
    """``get-pet.v2`` -> ``get_pet_v2``; ``2fa`` -> ``_2fa``; ``import`` -> ``import_``."""
    cleaned = re.sub(r"\W", "_", name, flags=re.ASCII)
    if cleaned[:1].isdigit():
        cleaned = "_" + cleaned
    return cleaned + "_" if keyword.iskeyword(cleaned) else cleaned


def client_name(name: str) -> str:
    """The attribute of ``api.client`` that calls the operation whose
    ``x-bind-client`` or ``operationId`` is ``name``: always one that
    ``api.client.<it>`` reaches (an identifier, not a keyword, not starting
    with ``_``, which ``api.client`` keeps private). ``get-pet.v2`` ->
    ``get_pet_v2``; ``__main__.x`` -> ``main___x``; ``_x`` -> ``x``;
    ``2fa`` -> ``op_2fa``; ``import`` -> ``import_``; ``créer`` stays
    (NFKC-normalised, as Python normalises the names it reads)."""
    cleaned = _identifier_chars(name).lstrip("_")
    if not cleaned[:1].isidentifier():  # nothing left, or a digit first
        cleaned = "op_" + cleaned if cleaned else "op"
    return cleaned + "_" if keyword.iskeyword(cleaned) else cleaned


def caller_name_of(method: str, path: str, x_bind_client: str | None, operation_id: str | None) -> str:
    """The ``api.client`` name of an operation: from its ``x-bind-client``, else
    its ``operationId`` (``client_name``), else its method and path, so that an
    operation without an operationId is callable too: ``GET /articlesearch.json``
    -> ``get_articlesearch_json``, ``DELETE /pets/{pet_id}`` -> ``delete_pets_by_pet_id``,
    ``GET /`` -> ``get_root``."""
    given = x_bind_client or operation_id
    if given:
        return client_name(given)
    words = [
        f"by_{part[1:-1]}" if part.startswith("{") and part.endswith("}") else part
        for part in path.strip("/").split("/")
        if part
    ]
    return client_name(re.sub(r"__+", "_", _identifier_chars("_".join([method.lower(), *(words or ["root"])]))))


def client_name_problem(name: str) -> str | None:
    """Why an ``x-bind-client`` name, which a user chose for Python, cannot be
    called by it (``_x``, ``2fa``); None when it can, as written or made an
    identifier (``get-pet`` is ``get_pet``, ``import`` is ``import_``)."""
    cleaned = _identifier_chars(name)
    if cleaned.startswith("_"):
        why = "names starting with '_' are private to api.client"
    elif not cleaned[:1].isidentifier():
        why = f"a Python name cannot start with {cleaned[:1]!r}"
    else:
        return None
    return f"x-bind-client {name!r} cannot be an attribute of api.client: {why}; write e.g. {client_name(name)!r}"


def _identifier_chars(name: str) -> str:
    """``name`` NFKC-normalised, each character that cannot be in an identifier made ``_``."""
    if name.isascii():
        return re.sub(r"\W", "_", name, flags=re.ASCII)
    name = unicodedata.normalize("NFKC", name)
    return "".join(c if ("_" + c).isidentifier() else "_" for c in name)


def api_name_for(spec_path: str) -> str:
    """``specs/pet-store.v1.yaml`` -> ``pet_store_v1``."""
    stem = os.path.basename(spec_path)
    for suffix in (".yaml", ".yml", ".json"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return python_name(stem).lstrip("_") or "api"
