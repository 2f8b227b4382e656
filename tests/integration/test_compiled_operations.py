"""What runs per request or per call is compiled from narrow objects: no ``API`` is reachable from it.

The request parser, response builder, error renderer and client callers hold
their operation, the API's ``SchemaCompiler`` and (for callers) an
``Endpoint``; a view or a caller that kept the whole ``API`` would let
per-request code reach the spec, the pool and the client (issue 14).
"""
from __future__ import annotations

import gc
import types

from flask import Flask

from klue.api import API
from klue.swagger import ApiPool
from tests.conftest import REPO_ROOT


def _reaches_an_api(root: object, limit: int = 20000) -> bool:
    seen, todo = set(), [root]
    while todo and len(seen) < limit:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, (types.ModuleType, type)):
            continue
        seen.add(id(obj))
        if isinstance(obj, API):
            return True
        if isinstance(obj, types.FunctionType):  # its closure and defaults, not its module's globals
            todo.extend(c.cell_contents for c in obj.__closure__ or () if c.cell_contents is not None)
            todo.extend(obj.__defaults__ or ())
            continue
        todo.extend(gc.get_referents(obj))
    assert len(seen) < limit, "walk too large to conclude"
    return False


def test_no_view_of_a_spawned_api_reaches_the_api():
    api = ApiPool.add("petstore", yaml_path=str(REPO_ROOT / "tests" / "specs" / "petstore.yaml"))
    app = Flask(__name__)
    endpoints = api.spawn_api(app, mock="all", docs=False)
    assert endpoints
    for endpoint in endpoints:
        assert not _reaches_an_api(app.view_functions[endpoint]), endpoint
    assert _reaches_an_api([api])  # the walk does find one when it is there


def test_no_compiled_caller_reaches_the_api():
    api = ApiPool.add("petstore", yaml_path=str(REPO_ROOT / "tests" / "specs" / "petstore.yaml"),
                      host="127.0.0.1", port=9)
    names = list(api.client)
    assert names
    for name in names:
        caller = getattr(api.client, name)
        assert not _reaches_an_api(caller), name
