"""The one place klue imports bravado-core.

bravado-core (and swagger-spec-validator under it) use jsonschema APIs that
jsonschema deprecates, warning at import and on every spec build. Those
DeprecationWarnings say nothing a klue user can act on, so they are filtered
here, around bravado-core's import and calls, and nowhere else.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Iterator


@contextlib.contextmanager
def quiet_bravado() -> Iterator[None]:
    """Silence jsonschema's DeprecationWarnings raised through bravado-core."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*(RefResolver|jsonschema)")
        warnings.filterwarnings("ignore", category=DeprecationWarning,
                                module=r"(bravado_core|jsonschema|swagger_spec_validator)(\.|$)")
        yield


with quiet_bravado():
    from bravado_core.formatter import SwaggerFormat
    from bravado_core.model import Model, ModelMeta, create_model_type, is_object
    from bravado_core.spec import Spec as BravadoSpec


def is_model(value: object) -> bool:
    """``isinstance(value, Model)``, without the cost: bravado-core's metaclass
    answers that in Python (0.75 us); every model class is a ModelMeta instance."""
    return isinstance(type(value), ModelMeta)


__all__ = ["quiet_bravado", "Model", "BravadoSpec", "SwaggerFormat", "create_model_type", "is_model", "is_object"]
