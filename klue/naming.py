"""Python names for what specs and files call things: callers, APIs."""

from __future__ import annotations

import keyword
import os
import re


def python_name(name: str) -> str:
    """``get-pet.v2`` -> ``get_pet_v2``; ``2fa`` -> ``_2fa``; ``import`` -> ``import_``."""
    cleaned = re.sub(r"\W", "_", name, flags=re.ASCII)
    if cleaned[:1].isdigit():
        cleaned = "_" + cleaned
    return cleaned + "_" if keyword.iskeyword(cleaned) else cleaned


def api_name_for(spec_path: str) -> str:
    """``specs/pet-store.v1.yaml`` -> ``pet_store_v1``."""
    stem = os.path.basename(spec_path)
    for suffix in (".yaml", ".yml", ".json"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    return python_name(stem).lstrip("_") or "api"
