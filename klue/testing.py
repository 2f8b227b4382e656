"""pytest fixtures for services built with klue.

Enable them in a project's ``conftest.py``::

    pytest_plugins = ["klue.testing"]

``klue_pool``
    This test's ``ApiPool``: empty when the test starts; the APIs the test
    loads are removed when it ends (their connections closed) and those
    loaded before it are put back. Tests cannot see each other's APIs.
``klue_client``
    A factory: ``klue_client("specs/inventory.yaml")`` loads the spec into
    the test's pool, serves it from a new Flask app and returns that app's
    test client. The API's own client calls go into the same app, in
    process (``ApiPool.add(local=app)``), so a handler that calls another
    service loaded this way runs that service's real handlers.

Outside pytest, ``isolated_pool()`` is the same isolation as a context manager.
This module imports pytest: it is for test suites, never imported by klue itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .pool import ApiPool, file_api_name


@contextmanager
def isolated_pool() -> Iterator[type[ApiPool]]:
    """An empty ``ApiPool`` for the duration of the block; what it held before comes back after."""
    with ApiPool._lock:
        saved = dict(ApiPool._apis)
        ApiPool._apis.clear()
    try:
        yield ApiPool
    finally:
        ApiPool.clear()
        with ApiPool._lock:
            ApiPool._apis.update(saved)


def serve_spec(
    spec_path: str,
    *,
    name: str | None = None,
    mock: str | None = None,
    docs: bool = False,
    **add_options: Any,
) -> FlaskClient:
    """Load ``spec_path`` as ``name`` (from its file name by default), serve it from a new
    Flask app, and return the app's test client; ``add_options`` go to ``ApiPool.add``."""
    app = Flask(f"klue.testing.{name or file_api_name(spec_path)}")
    add_options.setdefault("local", app)
    api = ApiPool.add(name or file_api_name(spec_path), yaml_path=spec_path, **add_options)
    api.spawn_api(app, mock=mock, docs=docs)
    return app.test_client()


@pytest.fixture
def klue_pool() -> Iterator[type[ApiPool]]:
    """This test's own ``ApiPool`` (see the module's docstring)."""
    with isolated_pool() as pool:
        yield pool


@pytest.fixture
def klue_client(klue_pool: type[ApiPool]) -> Callable[..., FlaskClient]:
    """``klue_client(spec_path, name=None, mock=None, docs=False, **add_options)`` -> a Flask test client."""
    return serve_spec


__all__ = ["isolated_pool", "klue_client", "klue_pool", "serve_spec"]
