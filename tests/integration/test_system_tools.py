"""Without Chromium or nginx, the tests that need them skip and say how to install
them; under KLUE_REQUIRE_BROWSER=1 / KLUE_REQUIRE_NGINX=1 (as .ci/run sets) the
same absence is a failure."""
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.timeout(120)


def run_browser_test_without_chromium(**env_extra: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "KLUE_REQUIRE_BROWSER"}
    env["PATH"] = os.path.dirname(sys.executable)  # no chromium on it, wherever this machine has one
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "tests/integration/test_browser.py"], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=100)


def test_without_chromium_it_skips_saying_how_to_install_it():
    done = run_browser_test_without_chromium()
    assert done.returncode == 0, done.stdout[-2000:]
    assert "skipped" in done.stdout and "failed" not in done.stdout
    assert "Chromium is not installed: apt-get install chromium" in done.stdout


def test_under_klue_require_browser_the_absence_fails():
    done = run_browser_test_without_chromium(KLUE_REQUIRE_BROWSER="1")
    assert done.returncode == 1, done.stdout[-2000:]
    assert "Chromium is not installed, and KLUE_REQUIRE_BROWSER=1 requires it" in done.stdout
    assert "skipped" not in done.stdout


def test_the_nginx_test_follows_the_same_rule():
    env = {k: v for k, v in os.environ.items() if k != "KLUE_REQUIRE_NGINX"}
    env["PATH"] = os.path.dirname(sys.executable)
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
               "tests/integration/test_behind_nginx.py"]
    skipped = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=100)
    assert skipped.returncode == 0 and "nginx is not installed: apt-get install nginx-light" in skipped.stdout
    failed = subprocess.run(command, cwd=REPO_ROOT, env={**env, "KLUE_REQUIRE_NGINX": "1"}, capture_output=True,
                            text=True, timeout=100)
    assert failed.returncode == 1 and "nginx is not installed, and KLUE_REQUIRE_NGINX=1 requires it" in failed.stdout
