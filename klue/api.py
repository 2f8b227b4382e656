"""``API``: one loaded spec with its models, validators, converters and client."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .client.breaker import CircuitBreaker
from .client.credentials import check_credentials
from .client.policy import DEFAULT_MAX_RESPONSE_SIZE, RetryPolicy
from .exceptions import ArgumentError, KlueException, ValidationError
from .models import ModelNamespace, Persistence, build_model_classes
from .schema.compiler import SchemaCompiler
from .schema.formats import FormatRegistry
from .schema.view import ref_to
from .spec import Spec

if TYPE_CHECKING:
    from flask import Flask

    from .client.namespace import ApiClient

ErrorCallback = Callable[[Exception], Any]
#: ``circuit_breaker`` not given: a ``CircuitBreaker()`` with its defaults.
DEFAULT_BREAKER: Any = object()


class API:
    """A named, loaded spec. Reached as ``ApiPool.<name>``."""

    def __init__(
        self,
        name: str,
        spec: Spec,
        *,
        timeout: float | None = None,
        error_callback: ErrorCallback | None = None,
        formats: Iterable[Any] | None = None,
        host: str | None = None,
        port: int | None = None,
        proto: str | None = None,
        do_persist: bool = True,
        local: Flask | None = None,
        retry: RetryPolicy | None = None,
        circuit_breaker: CircuitBreaker | None = DEFAULT_BREAKER,
        credentials: Mapping[str, Any] | None = None,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> None:
        if error_callback is not None and not callable(error_callback):
            raise TypeError(f"error_callback of API '{name}' must be callable, got {error_callback!r}")
        self.name = name
        self.spec = spec
        self.timeout = timeout
        self.error_callback = error_callback
        self.host, self.port, self.proto = host, port, proto
        self.formats = FormatRegistry(formats or ())
        classes = build_model_classes(spec.definitions, name)
        #: What operations are compiled from: the validators and converters of this API's schemas.
        self.schemas = SchemaCompiler(spec.definitions, self.formats, classes, spec.json_schema)
        self.validators = self.schemas.validators
        self.codec = self.schemas.codec
        self._model_validators: dict[str, Any] = {}  # json_to_model's, by definition name
        if do_persist:
            for model_name, dotted in spec.persisted_models.items():
                if model_name in classes:
                    Persistence.inject(classes[model_name], dotted, model_name)
        self.model = ModelNamespace(name, classes)
        if circuit_breaker is DEFAULT_BREAKER:
            circuit_breaker = CircuitBreaker()  # one per API: each holds its hosts' states
        check_max_response_size(name, max_response_size)
        # The client is built on first use (it imports requests); what it is
        # given is checked now, so a mistake shows where it is made.
        self._client_settings: dict[str, Any] = {
            "local_app": local,
            "retry": retry,
            "breaker": circuit_breaker,
            "max_response_size": max_response_size,
        }
        self._client_credentials = check_credentials(name, spec.security_schemes, credentials)
        self._client: ApiClient | None = None
        self._client_lock = threading.Lock()

    @property
    def client(self) -> ApiClient:
        """``api.client.<operation>(...)``: the callers of this API's operations."""
        if self._client is None:
            from .client.endpoint import Endpoint
            from .client.namespace import ApiClient

            with self._client_lock:
                if self._client is None:
                    endpoint = Endpoint(
                        self.name,
                        self.spec,
                        host=self.host,
                        port=self.port,
                        proto=self.proto,
                        timeout=self.timeout,
                        error_callback=self.error_callback,
                        **self._client_settings,
                    )
                    self._client = ApiClient(self.name, self.spec, self.schemas, endpoint, self._client_credentials)
        return self._client

    def __repr__(self) -> str:
        return f"<API '{self.name}' {self.spec.title!r} {self.get_version()} from {self.spec.source}>"

    def get_version(self) -> str:
        """The spec's ``info.version``."""
        return self.spec.api_version

    def model_to_json(self, obj: Any) -> Any:
        """A model instance (or any value) -> JSON-ready dicts, lists and scalars."""
        name = type(obj).__name__
        return self.schemas.encoder(_definition_ref(name) if name in self.spec.definitions else None)(obj)

    def json_to_model(self, model_name: str, data: Any) -> Any:
        """Validate ``data`` against definition ``model_name`` and build the model from it.

        Invalid data raises ``ArgumentError`` naming each bad field: data a
        handler converts is the server's own (requests were validated
        already), so if it escapes, the client gets a plain 500."""
        if model_name not in self.spec.definitions:
            raise KlueException(f"API '{self.name}' has no definition '{model_name}'")
        schema = _definition_ref(model_name)
        validator = self._model_validators.get(model_name)
        if validator is None:
            validator = self._model_validators[model_name] = self.schemas.validator(schema)
        try:
            validator.validate(data, model_name)
        except ValidationError as e:
            raise ArgumentError(str(e), errors=e.errors) from None
        decode = self.schemas.decoder(schema)
        return decode(data) if decode else data

    @property
    def credentials(self) -> dict[str, Any]:
        """What the client sends for each security scheme (a copy)."""
        return dict(self._client._credentials if self._client is not None else self._client_credentials)

    def set_credentials(self, credentials: Mapping[str, Any] | None) -> None:
        """What the client sends for each security scheme (as ``ApiPool.add(credentials=...)``), replacing
        what it had: for an API loaded without them, such as one that ``klue serve`` serves and calls."""
        checked = check_credentials(self.name, self.spec.security_schemes, credentials)
        self._client_credentials = checked
        if self._client is not None:
            self._client._use_credentials(checked)

    def _close_client(self) -> None:
        if self._client is not None:
            self._client._close()

    def spawn_api(self, app: Flask, decorator: Callable[..., Any] | None = None, **options: Any) -> list[str]:
        """Add this API's operations to ``app`` as validated routes; ``options``:
        ``cors``, ``mock``, ``docs``, ``max_body_size``, ``security`` (see ``klue.server.spawn_api``)."""
        from .server import spawn_api

        return spawn_api(self, app, decorator, **options)

    def _share_model(self, name: str, cls: type) -> None:
        """Use ``cls`` for model ``name`` (``ApiPool.merge``): this API's models that extend it stay its subclasses."""
        cls._klue_apis = cls._klue_apis | {self.name}  # type: ignore[attr-defined]
        self.model._replace(name, cls)
        self.codec.models[name] = cls
        self.codec.reset()


def _definition_ref(name: str) -> dict[str, str]:
    """``{"$ref": "#/definitions/<name>"}``."""
    return {"$ref": ref_to(name)}


def check_max_response_size(api_name: str, max_response_size: Any) -> None:
    if max_response_size is not None and (
        isinstance(max_response_size, bool) or not isinstance(max_response_size, int) or max_response_size < 1
    ):
        raise ValueError(
            f"max_response_size of API '{api_name}' must be a number of bytes above 0, "
            f"or None, not {max_response_size!r}"
        )
