"""``ApiPool``: the process-wide registry of loaded APIs (the seed's one global).

``ApiPool.add('login', yaml_path='login.yaml')`` loads a spec and makes it
reachable as ``ApiPool.login`` and ``ApiPool.get('login')``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .api import API, DEFAULT_BREAKER
from .client.policy import DEFAULT_MAX_RESPONSE_SIZE, RetryPolicy
from .exceptions import KlueException, MergeApisException
from .naming import api_name_for
from .spec import gc_paused, load_spec

_RESERVED = frozenset({"add", "get", "merge", "remove", "clear", "names", "apis"})


class _ApiPoolType(type):
    """Lets ``ApiPool.<name>`` find a loaded API."""

    def __getattr__(cls, name: str) -> API:
        if name.startswith("__"):
            raise AttributeError(name)
        apis: dict[str, API] = type.__getattribute__(cls, "_apis")
        try:
            return apis[name]
        except KeyError:
            loaded = ", ".join(sorted(apis)) or "none"
            raise AttributeError(f"ApiPool has no API '{name}' (loaded: {loaded})") from None

    def __contains__(cls, name: object) -> bool:
        return name in type.__getattribute__(cls, "_apis")


class ApiPool(metaclass=_ApiPoolType):
    """All loaded APIs of this process, by name."""

    _apis: dict[str, API] = {}
    _lock = threading.Lock()

    @classmethod
    def add(
        cls,
        name: str,
        yaml_path: str | None = None,
        yaml_str: str | None = None,
        spec_dict: dict[str, Any] | None = None,
        timeout: float | None = None,
        error_callback: Callable[[Exception], Any] | None = None,
        formats: Iterable[Any] | None = None,
        host: str | None = None,
        port: int | None = None,
        proto: str | None = None,
        do_persist: bool = True,
        local: Any = None,
        retry: RetryPolicy | None = None,
        circuit_breaker: Any = DEFAULT_BREAKER,
        credentials: Mapping[str, Any] | None = None,
        max_response_size: int | None = DEFAULT_MAX_RESPONSE_SIZE,
    ) -> API:
        """Load a spec from exactly one of ``yaml_path``, ``yaml_str`` or ``spec_dict``
        and register it as ``name``, replacing any API loaded under that name.

        ``local=app`` sends the client's calls into that Flask app, in process
        (for tests); ``retry`` sets the client's ``RetryPolicy``;
        ``circuit_breaker`` its ``CircuitBreaker`` (None: none); ``credentials``
        what the client sends for each security scheme (``klue.client.credentials``);
        ``max_response_size`` the largest response body (decompressed) the
        client reads, 10 MiB by default (None: no limit)."""
        _check_name(name)
        with gc_paused():  # building the API allocates as much as loading
            spec = load_spec(yaml_path=yaml_path, yaml_str=yaml_str, spec_dict=spec_dict)
            api = API(
                name,
                spec,
                timeout=timeout,
                error_callback=error_callback,
                formats=formats,
                host=host,
                port=port,
                proto=proto,
                do_persist=do_persist,
                local=local,
                retry=retry,
                circuit_breaker=circuit_breaker,
                credentials=credentials,
                max_response_size=max_response_size,
            )
        with cls._lock:
            previous = cls._apis.get(name)
            cls._apis[name] = api
        if previous is not None:
            previous._close_client()
        return api

    @classmethod
    def get(cls, name: str) -> API:
        """The API loaded as ``name``; ``KeyError`` naming the loaded ones if absent."""
        try:
            return cls._apis[name]
        except KeyError:
            raise KeyError(f"no API '{name}' in ApiPool (loaded: {', '.join(sorted(cls._apis)) or 'none'})") from None

    @classmethod
    def names(cls) -> list[str]:
        return sorted(cls._apis)

    @classmethod
    def remove(cls, name: str) -> None:
        """Forget one API and close its client's connections."""
        with cls._lock:
            api = cls._apis.pop(name, None)
        if api is not None:
            api._close_client()

    @classmethod
    def clear(cls) -> None:
        """Forget every API (for tests)."""
        for name in list(cls._apis):
            cls.remove(name)

    @classmethod
    def merge(cls) -> None:
        """Make same-named models of different APIs one class.

        Definitions must be equal (``x-model`` tags aside); otherwise
        ``MergeApisException`` names the model and both APIs, and nothing changes.
        """
        owners: dict[str, tuple[API, dict[str, Any]]] = {}
        shares: list[tuple[API, str, type]] = []
        for api in cls._apis.values():
            for model_name in api.model:
                definition = _comparable(api.spec.definitions.get(model_name))
                if model_name not in owners:
                    owners[model_name] = (api, definition)
                    continue
                first, first_definition = owners[model_name]
                if definition != first_definition:
                    raise MergeApisException(
                        f"model '{model_name}' is defined differently in APIs '{first.name}' and '{api.name}'"
                    )
                shares.append((api, model_name, getattr(first.model, model_name)))
        for api, model_name, shared in shares:
            api._share_model(model_name, shared)


def _comparable(definition: Any) -> Any:
    if isinstance(definition, dict):
        return {k: _comparable(v) for k, v in definition.items() if k != "x-model"}
    if isinstance(definition, list):
        return [_comparable(v) for v in definition]
    return definition


def file_api_name(spec_path: str) -> str:
    """The name a spec file is loaded under by ``make_app``, ``klue`` and ``klue.testing``:
    ``api_name_for``'s, made one that ``ApiPool.add`` accepts (``1pets.yaml`` is
    ``api_1pets``, ``get.yaml`` is ``get_api``), so that what validates also serves."""
    name = api_name_for(spec_path)
    if not name.isidentifier():  # a leading digit: api_name_for strips the underscore
        name = "api_" + name
    if name in _RESERVED:
        name += "_api"
    return name


def _check_name(name: Any) -> None:
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
        raise KlueException(f"API name must be a Python identifier not starting with '_', got {name!r}")
    if name in _RESERVED:
        raise KlueException(f"API name {name!r} is reserved by ApiPool; choose another")
