import os

import pytest
from flask import Flask

from klue.swagger import ApiPool

SPECS = os.path.join(os.path.dirname(__file__), "specs")


def spec_path(name: str) -> str:
    return os.path.join(SPECS, name)


@pytest.fixture(autouse=True)
def clean_pool():
    """Every test starts and ends with an empty ApiPool."""
    ApiPool.clear()
    yield
    ApiPool.clear()


@pytest.fixture
def petstore():
    return ApiPool.add("petstore", yaml_path=spec_path("petstore.yaml"))


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
