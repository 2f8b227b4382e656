"""The large public specs people actually call load, fast, with a caller for every operationId.

Load times are measured by bench/bench_specs.py, not asserted here.
"""
import pytest
from flask import Flask

from klue.spec.loader import read_file
from klue.swagger import ApiPool
from tests.real_specs import NAMES, Unavailable, real_specs

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def specs():
    try:
        return real_specs()
    except Unavailable as e:  # the only reason to skip: no way to get the files at all
        pytest.skip(str(e))


@pytest.mark.parametrize("name", sorted(NAMES))
def test_real_spec_loads_with_a_caller_for_every_operation_id(specs, name):
    api = ApiPool.add(name, yaml_path=str(specs[name]))
    assert api.spec.version.startswith(NAMES[name])
    op_ids = {op.operation_id for op in api.spec.operations if op.operation_id}
    assert len(op_ids) > 100
    assert op_ids <= {op.operation_id for op in api.client._operations.values()}
    # callers compile on first use: build a sample of them, spread over the spec
    names = sorted(api.client)
    for name in names[:: max(1, len(names) // 4)]:  # the first can take seconds: it compiles a large graph
        assert getattr(api.client, name).op.operation_id in op_ids
    assert len(list(api.model)) > 100


def test_yaml_integer_response_codes_in_docker(specs):
    raw = read_file(str(specs["docker"]))
    assert any(isinstance(code, int) for item in raw["paths"].values() for op in item.values()
               if isinstance(op, dict) for code in op.get("responses", {}))  # what crashes swagger-spec-validator
    ApiPool.add("docker", yaml_path=str(specs["docker"]))


def test_a_real_spec_serves_mocks_and_validates(specs):
    api = ApiPool.add("docker", yaml_path=str(specs["docker"]))
    app = Flask("docker")
    api.spawn_api(app, mock="all")
    c = app.test_client()
    base = api.spec.base_path
    r = c.get(f"{base}/containers/json?all=true&limit=2")
    assert r.status_code == 200 and isinstance(r.get_json(), list)
    assert c.get(f"{base}/containers/json?limit=many").status_code == 400
    assert c.get(f"{base}/_ping").status_code == 200
