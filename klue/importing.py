"""Resolving the dotted paths a spec names (``x-bind-server: pkg.mod.func``)."""

from __future__ import annotations

import importlib
from typing import Any

from .exceptions import BindingError


def import_object(dotted_path: str, *, what: str) -> Any:
    """Import ``pkg.module.attr``; ``what`` says who asked, for the error message."""
    if not isinstance(dotted_path, str) or "." not in dotted_path.strip("."):
        raise BindingError(f"{what}: {dotted_path!r} is not a dotted path like 'package.module.name'")
    module_name, _, attr = dotted_path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise BindingError(f"{what}: cannot import module '{module_name}' for '{dotted_path}': {e}") from e
    except Exception as e:  # the module itself raised while importing
        raise BindingError(f"{what}: importing '{module_name}' failed: {type(e).__name__}: {e}") from e
    try:
        return getattr(module, attr)
    except AttributeError:
        raise BindingError(f"{what}: module '{module_name}' has no attribute '{attr}'") from None
