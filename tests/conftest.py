import os
import signal
from pathlib import Path

import pytest
from flask import Flask

from klue.swagger import ApiPool

SPECS = os.path.join(os.path.dirname(__file__), "specs")
#: The repository: where README.rst, examples/ and specs/ are.
REPO_ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    """Servers the tests start are stopped with SIGINT, as Ctrl-C stops them.
    A shell without job control starts background commands with SIGINT
    ignored, and an ignored signal stays ignored in every child: Python then
    installs no KeyboardInterrupt handler and such a server never stops. A
    handler set here is reset to the default in each child instead."""
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def spec_path(name: str) -> str:
    return os.path.join(SPECS, name)


@pytest.fixture(autouse=True)
def clean_pool():
    """Every test starts and ends with an empty ApiPool."""
    ApiPool.clear()
    yield
    ApiPool.clear()


#: The same test API in each spec version: suites using ``petstore`` run on both.
PETSTORES = {"swagger2": "petstore.yaml", "openapi3": "petstore.openapi3.yaml"}


@pytest.fixture(params=sorted(PETSTORES))
def petstore_spec(request):
    return spec_path(PETSTORES[request.param])


@pytest.fixture
def petstore(petstore_spec):
    return ApiPool.add("petstore", yaml_path=petstore_spec)


@pytest.fixture
def app(petstore):
    app = Flask("test")
    petstore.spawn_api(app)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def received():
    from tests.handlers import pets

    pets.received.clear()
    return pets.received
