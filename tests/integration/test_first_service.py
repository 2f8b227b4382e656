"""README.rst's "Your first service": the project of examples/first_service/, as a newcomer would use it.

The README shows each of its files (checked byte for byte here); its tests
pass under plain ``pytest`` run from a copy of the project outside this
repository; and its two services, served by ``klue serve`` as two
processes, call each other as the README says.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.cli.test_cli import klue_serve, stop, wait_until_up
from tests.conftest import REPO_ROOT
from tests.integration.test_readme import literal_block_after
from tests.live import free_port

PROJECT = REPO_ROOT / "examples" / "first_service"
SHOWN = ["specs/inventory.yaml", "specs/shop.yaml", "handlers/inventory.py", "handlers/shop.py", "conftest.py",
         "tests/test_shop.py"]


def _section() -> str:
    readme = (REPO_ROOT / "README.rst").read_text(encoding="utf-8")
    start = readme.index("Your first service\n---")
    return readme[start:readme.index("\n----", start + 30)]


@pytest.mark.parametrize("path", SHOWN)
def test_the_readme_shows_each_file_as_it_is(path):
    section = _section()
    marker = f"``{path}``::" if f"``{path}``::" in section else {
        "handlers/shop.py": "comes from the environment::",
        "conftest.py": "loads klue's fixtures::",
        "tests/test_shop.py": "handlers, with no server and no port::",
    }[path]
    assert literal_block_after(section, marker) == (PROJECT / path).read_text(encoding="utf-8")


def _copy_project(tmp_path: Path) -> Path:
    project = tmp_path / "myshop"
    shutil.copytree(PROJECT, project, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    return project


def test_its_tests_pass_under_plain_pytest_outside_the_repository(tmp_path):
    project = _copy_project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    pytest_command = Path(sys.executable).parent / "pytest"  # the virtualenv's, as a user types `pytest`
    out = subprocess.run([str(pytest_command), "-q", "-p", "no:cacheprovider"], cwd=project, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "3 passed" in out.stdout


@pytest.mark.slow
def test_its_two_services_run_as_two_processes(tmp_path):
    project = _copy_project(tmp_path)
    inventory_port, shop_port = free_port(), free_port()
    inventory_url = f"http://127.0.0.1:{inventory_port}"
    inventory = klue_serve("specs/inventory.yaml", "--port", str(inventory_port), cwd=project)
    shop = klue_serve("specs/shop.yaml", "--port", str(shop_port), cwd=project, env={"INVENTORY_URL": inventory_url})
    try:
        wait_until_up(f"{inventory_url}/ping", inventory)
        wait_until_up(f"http://127.0.0.1:{shop_port}/ping", shop)
        r = requests.get(f"http://127.0.0.1:{shop_port}/shop/can-buy/apple?quantity=3", timeout=10)
        assert r.status_code == 200 and r.json() == {"item": "apple", "ok": True}
        r = requests.get(f"http://127.0.0.1:{shop_port}/shop/can-buy/apple?quantity=4", timeout=10)
        assert r.json() == {"item": "apple", "ok": False}
    finally:
        stop(shop)
        stop(inventory)


def test_isolated_pool_hides_and_then_restores_what_was_loaded():
    from klue.swagger import ApiPool
    from klue.testing import isolated_pool

    spec = {"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}
    before = ApiPool.add("before", spec_dict=spec)
    with isolated_pool() as pool:
        assert pool is ApiPool and ApiPool.names() == []
        ApiPool.add("inner", spec_dict=spec)
    assert ApiPool.names() == ["before"] and ApiPool.before is before
