"""The release as a user gets it: ``python -m build`` makes the sdist and, from
it, the wheel; the wheel is installed into a fresh virtualenv (with only the
dependencies it declares, from the package index) and, in a project folder
outside the repository, its ``klue serve`` serves a small spec that a klue
client of the same virtualenv calls.

It catches a file the runtime needs that the wheel does not ship, and a
package klue imports that the wheel does not declare (the virtualenv has
nothing else). pip's cache makes it quick; with no package index, pip's
error or a step's timeout says so instead of a hang."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

import pytest
import requests
from packaging.requirements import Requirement

from tests.conftest import REPO_ROOT
from tests.live import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]  # each step has its own, shorter bound

VERSION = "2.0.0.dev1"

SPEC = """\
swagger: "2.0"
info: {title: Inventory, version: "3.2"}
basePath: /inv
consumes: [application/json]
produces: [application/json]
definitions:
  Item:
    type: object
    required: [name, count]
    additionalProperties: false
    properties:
      name: {type: string, minLength: 1}
      count: {type: integer, minimum: 0}
paths:
  /items:
    post:
      operationId: addItem
      x-bind-server: inventory_handlers.add_item
      x-bind-client: add_item
      parameters: [{in: body, name: item, required: true, schema: {$ref: "#/definitions/Item"}}]
      responses:
        201: {description: Added., schema: {$ref: "#/definitions/Item"}}
  /items/{name}:
    get:
      operationId: getItem
      x-bind-server: inventory_handlers.get_item
      x-bind-client: get_item
      parameters: [{in: path, name: name, type: string, required: true}]
      responses:
        200: {description: The item., schema: {$ref: "#/definitions/Item"}}
        404: {description: No such item.}
"""

HANDLERS = """\
import json, sys

import klue
from klue.exceptions import NotFound
from klue.swagger import ApiPool

# Where the server found klue, for the test to check.
with open("server-imports.json", "w") as f:
    json.dump({"klue": klue.__file__, "path": sys.path}, f)

ITEMS = {}


def add_item(item):
    ITEMS[item.name] = item
    return item, 201


def get_item(name):
    if name not in ITEMS:
        raise NotFound(f"no item {name!r}")
    return ITEMS[name]
"""

CLIENT = """\
import json, sys, sysconfig
import importlib.metadata as metadata

import klue
from klue.swagger import ApiPool

api = ApiPool.add("inventory", yaml_path="inventory.yaml", host="127.0.0.1", port=int(sys.argv[1]), proto="http")
added = api.client.add_item(api.model.Item(name="bolt", count=3)).call()
got = api.client.get_item(name="bolt").call()
dist = metadata.distribution("klue-client-server")
print(json.dumps({
    "added": [type(added).__name__, added.name, added.count],
    "got": [type(got).__name__, api.model_to_json(got)],
    "klue": klue.__file__,
    "purelib": sysconfig.get_path("purelib"),
    "path": sys.path,
    "version": dist.version,
    "klue_version": klue.__version__,
    "files": sorted(str(f) for f in dist.files),
    "jsonschema_rs": metadata.version("jsonschema-rs"),
}))
"""


def clean_env() -> dict[str, str]:
    """This environment without what would let a process find the repository or
    this virtualenv's packages, and with pip bounded in time."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(PYTHONNOUSERSITE="1", PIP_DEFAULT_TIMEOUT="30", PIP_RETRIES="1", PIP_NO_INPUT="1")
    return env


#: What a failing step that downloads says first.
NEEDS_INDEX = "it needs the package index (or pip's cache) for what the wheel depends on"


def step(what: str, args: list[str], timeout: float, hint: str = "", **kwargs) -> str:
    """Run one step; its failure, or a timeout, fails the test with the step's output."""
    hint = f" ({hint})" if hint else ""
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=clean_env(), **kwargs)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{what} took more than {timeout:.0f} s{hint}:\n{_tail(e.stdout)}\n{_tail(e.stderr)}")
    if out.returncode != 0:
        pytest.fail(f"{what} failed (exit {out.returncode}){hint}:\n{_tail(out.stdout)}\n{_tail(out.stderr)}")
    return out.stdout


def _tail(text: str | bytes | None, size: int = 3000) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "")[-size:]


def source_files() -> list[str]:
    """The files a clone of the repository would have, with this working tree's
    changes: what git tracks and what it does not ignore (an egg-info left by
    an earlier build would otherwise add its file list to the sdist)."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=REPO_ROOT, capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.fail(f"this test copies the files git lists, and git ls-files failed: {e}")
    return sorted(name for name in set(out.split("\0")) if name and (REPO_ROOT / name).is_file())


def _installed(distribution: str) -> bool:
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def runtime_files() -> set[str]:
    """Every file of the klue package, .py or not."""
    return {name for name in source_files() if name.startswith("klue/")}


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """The sdist and wheel that ``python -m build`` makes of the working tree."""
    if not _installed("build"):  # not find_spec: a build/ folder in the working directory would pass
        pytest.fail("this test builds the wheel with the 'build' package, in the test extra: pip install -e '.[test]'")
    source, dist = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    for name in source_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, source / name)
    step("python -m build", [sys.executable, "-m", "build", "--outdir", str(dist), str(source)], timeout=150,
         cwd=source, hint="it needs the package index (or pip's cache) for setuptools")
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    return wheel, sdist


@pytest.fixture(scope="module")
def venv(release, tmp_path_factory):
    """A fresh virtualenv with the wheel installed, and nothing else than its dependencies."""
    wheel, _ = release
    home = tmp_path_factory.mktemp("venv") / "venv"
    step("creating a virtualenv", [sys.executable, "-m", "venv", str(home)], timeout=60)
    python = home / "bin" / "python"
    step("pip install of the wheel", [str(python), "-m", "pip", "install", str(wheel)], timeout=180, hint=NEEDS_INDEX)
    return home


def test_the_wheel_and_the_sdist_ship_the_package_and_the_license(release):
    wheel, sdist = release
    assert wheel.name == f"klue_client_server-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    missing = runtime_files() - shipped
    assert not missing, f"files of klue/ the wheel does not ship (pyproject.toml's package-data?): {sorted(missing)}"
    assert {"klue/py.typed", "klue/schema/draft4-metaschema.json"} <= shipped
    assert f"klue_client_server-{VERSION}.dist-info/licenses/LICENSE" in shipped
    with tarfile.open(sdist) as archive:
        in_sdist = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"LICENSE", "pyproject.toml", "README.rst"} <= in_sdist
    assert not runtime_files() - in_sdist, "the sdist lacks files of klue/"


def test_the_installed_wheel_serves_and_calls_a_project_outside_the_repository(venv, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    assert not _inside(project, REPO_ROOT)
    (project / "inventory.yaml").write_text(SPEC)
    (project / "inventory_handlers.py").write_text(HANDLERS)
    (project / "client.py").write_text(CLIENT)
    bin_dir = venv / "bin"
    assert VERSION in step("klue --version", [str(bin_dir / "klue"), "--version"], timeout=60, cwd=project)

    port = free_port()
    log = (tmp_path / "server.log").open("w+")
    server = subprocess.Popen([str(bin_dir / "klue"), "serve", "inventory.yaml", "--port", str(port)],
                              cwd=project, env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(f"{base}/ping", server, log)
        assert requests.get(f"{base}/version", timeout=5).json() == {"inventory": "3.2"}
        result = json.loads(step("the client", [str(bin_dir / "python"), "client.py", str(port)], timeout=60,
                                 cwd=project))
        assert requests.get(f"{base}/inv/items/nut", timeout=5).status_code == 404
    finally:
        _stop(server)
        log.close()

    assert result["added"] == ["Item", "bolt", 3]
    assert result["got"] == ["Item", {"name": "bolt", "count": 3}]
    # klue came from the virtualenv, in the client and in the server, never from the repository.
    purelib = Path(result["purelib"]).resolve()
    served = json.loads((project / "server-imports.json").read_text())
    for where in (result, served):
        assert purelib in Path(where["klue"]).resolve().parents, where["klue"]
        assert not [p for p in where["path"] if p and _inside(Path(p), REPO_ROOT)], where["path"]
    # The installed distribution.
    assert result["version"] == result["klue_version"] == VERSION
    files = set(result["files"])
    assert f"klue_client_server-{VERSION}.dist-info/licenses/LICENSE" in files
    assert {"klue/py.typed", "klue/schema/draft4-metaschema.json"} <= files
    # The runtime install resolves a jsonschema-rs that the test extra (schemathesis) accepts too,
    # so the suite runs against the jsonschema-rs users get.
    for requirement in map(Requirement, importlib.metadata.requires("schemathesis") or []):
        if requirement.name == "jsonschema-rs" and requirement.marker is None:
            assert requirement.specifier.contains(result["jsonschema_rs"]), (
                f"a plain install resolves jsonschema-rs {result['jsonschema_rs']}, which schemathesis "
                f"(test extra) refuses ({requirement.specifier}): align pyproject.toml's constraint")


def _inside(path: Path, root: Path) -> bool:
    path = path.resolve()
    return path == root or root in path.parents


def _wait_until_up(url: str, server: subprocess.Popen, log, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            pytest.fail(f"klue serve exited ({server.returncode}):\n{_tail(log.read())}")
        try:
            requests.get(url, timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    log.seek(0)
    pytest.fail(f"klue serve did not answer {url} within {timeout:.0f} s:\n{_tail(log.read())}")


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C does
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=15)

