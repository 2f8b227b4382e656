"""The seed's import paths: ``from klue.swagger import ApiPool``."""

from ..context import get_call_id, get_call_path, get_principal
from ..pool import ApiPool

__all__ = ["ApiPool", "get_call_id", "get_call_path", "get_principal"]
