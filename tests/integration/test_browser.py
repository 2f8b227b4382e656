"""The docs page as a person sees it: Swagger UI rendered by headless Chromium."""
import os
import re
import subprocess

import pytest
from flask import Flask

from klue.swagger import ApiPool
from tests.conftest import REPO_ROOT
from tests.live import live
from tests.system_tools import require_program

ROOT = str(REPO_ROOT)

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def chromium() -> str:
    return require_program("chromium", "chromium-browser", package="chromium", required_by="KLUE_REQUIRE_BROWSER")


def rendered_dom(chromium: str, url: str, profile: str) -> str:
    out = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
         f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom", url],
        capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_docs_page_lists_the_operations(tmp_path, chromium):
    api = ApiPool.add("petstore", yaml_path=os.path.join(ROOT, "specs", "petstore.yaml"))
    app = Flask("docs")
    api.spawn_api(app)
    with live(app) as server:
        dom = rendered_dom(chromium, f"{server.url}/v1/docs", str(tmp_path / "profile"))
    operations = re.findall(r'href="#/default/(\w+)"', dom)
    assert operations == ["listPets", "createPet", "getPet", "deletePet"]
    assert set(re.findall(r'data-path="([^"]+)"', dom)) == {"/pets", "/pets/{pet_id}"}
    assert "Petstore" in dom and "List pets, optionally filtered." in dom
    # the spec's security is served with it: Swagger UI offers its Authorize button,
    # and marks the two protected operations with a lock
    assert re.search(r'class="btn authorize[^"]*"', dom), "no Authorize button"
    assert len(re.findall(r'class="authorization__btn[^"]*"', dom)) == 2
