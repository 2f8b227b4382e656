"""``SchemaCompiler``: one API's schemas, turned into prepared validators and converters.

This is what the request parser, the response builder, mock answers and the
client's callers are compiled from, with their operation: never the whole
``API``. Each distinct schema gets its validator and converters once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .codec import Codec, Convert
from .formats import FormatRegistry
from .validation import SchemaValidator, ValidatorCache
from .view import DRAFT4, resolve


class SchemaCompiler:
    """Validators (``validator``) and JSON <-> Python converters (``decoder``, ``encoder``) for one API's schemas."""

    __slots__ = ("codec", "definitions", "formats", "validators")

    def __init__(
        self,
        definitions: dict[str, Any],
        formats: FormatRegistry,
        model_classes: dict[str, type],
        draft: str = DRAFT4,
    ) -> None:
        self.definitions = definitions
        self.formats = formats
        self.validators = ValidatorCache(definitions, formats, draft)
        self.codec = Codec(definitions, model_classes, formats, branch_check=self._branch_check)

    def _branch_check(self, schema: dict[str, Any]) -> Callable[[Any], bool]:
        """How the codec tells which ``oneOf``/``anyOf`` branch a value is (compiled once per branch)."""
        return self.validators.get(schema).is_valid

    def validator(
        self, schema: dict[str, Any], *, direction: str | None = None, fill_defaults: bool = False
    ) -> SchemaValidator:
        """The prepared validator of ``schema``: for requests or responses (``direction``), or either."""
        return self.validators.get(schema, fill_defaults=fill_defaults, direction=direction)

    def prepare(self, schemas: Iterable[tuple[dict[str, Any], str | None]]) -> None:
        """Compile the validators of many (schema, direction) at once, sharing one
        compilation of the definitions they reach (``validator`` then finds them built)."""
        self.validators.prepare(schemas)

    def decoder(self, schema: dict[str, Any] | None) -> Convert | None:
        """JSON value -> Python (models, dates, user formats); None when the JSON value is already the result."""
        return self.codec.decoder(schema)

    def encoder(self, schema: dict[str, Any] | None, direction: str | None = None) -> Convert:
        """Python value -> JSON value; ``None`` as schema: any value, by its type."""
        return self.codec.encoder(schema, direction)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """``schema`` with its ``$ref`` followed."""
        return resolve(schema, self.definitions)

    @property
    def wire_text_is_final(self) -> bool:
        """Whether every format's ``to_wire`` keeps strings as they are (then a valid body can go as it is)."""
        return self.formats.wire_text_is_final()
