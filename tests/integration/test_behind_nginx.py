"""examples/production/nginx.conf, as README.rst's "Running in production"
gives it, run for real: nginx terminates TLS on 127.0.0.1 (a self-signed
certificate made here) and proxies to gunicorn serving the demo's petstore
with ``make_app(..., trusted_proxies=1)``, the command the file's header
names. The served spec then says https and the host and port the client
used; the access log names the client nginx saw, not one a client forged;
a body over the limit is refused by nginx before klue sees it."""
from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.cli.test_cli import DEMO_KEY, wait_until_up
from tests.conftest import REPO_ROOT
from tests.live import free_port
from tests.system_tools import require_program

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

EXAMPLE = REPO_ROOT / "examples" / "production" / "nginx.conf"


def gunicorn_command(port: int) -> list[str]:
    """The gunicorn line of the example's header, on ``port``, with this virtualenv's gunicorn."""
    line = next(line for line in EXAMPLE.read_text().splitlines() if "gunicorn " in line)
    words = shlex.split(line.lstrip("# "))
    assert words[:2] == ["gunicorn", "-w"] and words[words.index("-b") + 1] == "127.0.0.1:8080"
    words[words.index("-b") + 1] = f"127.0.0.1:{port}"
    words[words.index("-w") + 1] = "1"  # one worker is enough here
    return [sys.executable, "-m", *words]


def nginx_config(tmp_path, listen_port: int, backend_port: int, cert: str, key: str) -> str:
    server = EXAMPLE.read_text()
    for old, new in (("listen 443 ssl;", f"listen 127.0.0.1:{listen_port} ssl;"),
                     ("/etc/ssl/certs/shop.example.pem", cert), ("/etc/ssl/private/shop.example.key", key),
                     ("proxy_pass http://127.0.0.1:8080;", f"proxy_pass http://127.0.0.1:{backend_port};")):
        assert old in server, old
        server = server.replace(old, new)
    temp = {name: tmp_path / name for name in ("client_body", "proxy")}
    return "\n".join([
        "user root;" if os.geteuid() == 0 else "",  # workers must reach this test's folders
        "daemon off;", "worker_processes 1;", f"pid {tmp_path / 'nginx.pid'};", f"error_log {tmp_path / 'error.log'};",
        "events { worker_connections 64; }",
        "http {", f"access_log {tmp_path / 'access.log'};",
        *(f"{name}_temp_path {path};" for name, path in temp.items()),
        server, "}",
    ])


@pytest.fixture
def behind_nginx(tmp_path):
    nginx = require_program("nginx", package="nginx-light", required_by="KLUE_REQUIRE_NGINX")
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=shop.example", "-addext", "subjectAltName=DNS:shop.example,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    backend_port, port = free_port(), free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_config(tmp_path, port, backend_port, cert, key))
    checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    env = {**os.environ, "PETSTORE_DB": str(tmp_path / "pets.sqlite3")}
    backend = subprocess.Popen(gunicorn_command(backend_port), cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    proxy = subprocess.Popen([nginx, "-p", str(tmp_path), "-c", str(conf), "-e", str(tmp_path / "error.log")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(f"http://127.0.0.1:{backend_port}/ping", backend)
        yield f"https://127.0.0.1:{port}", cert, backend
    finally:
        proxy.send_signal(signal.SIGQUIT)  # nginx's graceful stop
        backend.send_signal(signal.SIGTERM)
        for process in (proxy, backend):
            try:
                process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def wait_for(session: requests.Session, url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            session.get(url, timeout=2).raise_for_status()
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_nginx_terminates_tls_and_klue_sees_the_clients_scheme_host_and_address(behind_nginx):
    url, cert, backend = behind_nginx
    port = url.rsplit(":", 1)[1]
    session = requests.Session()
    session.verify = cert
    session.trust_env = False  # else $REQUESTS_CA_BUNDLE overrides session.verify (requests#3829), and no proxy
    wait_for(session, f"{url}/ping")
    spec = session.get(f"{url}/v1/swagger.json", headers={"Host": "shop.example"}, timeout=10).json()
    assert (spec["schemes"], spec["host"], spec["basePath"]) == (["https"], f"shop.example:{port}", "/v1")

    forged = {"X-Forwarded-For": "6.6.6.6", "X-Forwarded-Proto": "http", **DEMO_KEY}
    r = session.post(f"{url}/v1/pets", json={"name": "Rex", "kind": "dog"}, headers=forged, timeout=10)
    assert r.status_code == 201, r.text
    assert session.get(f"{url}/v1/docs", timeout=10).status_code == 200

    big = session.post(f"{url}/v1/pets", data=b"x" * (11 * 1024 * 1024), headers={**DEMO_KEY,
                       "Content-Type": "application/json"}, timeout=30)
    assert big.status_code == 413 and "nginx" in big.text  # refused by nginx: klue never saw it

    backend.send_signal(signal.SIGTERM)
    _, log = backend.communicate(timeout=20)
    posts = re.findall(r"petstore POST /v1/pets -> (\d+) .* from (\S+)", log)
    assert posts == [("201", "127.0.0.1")], log[-3000:]  # nginx's view of the client, not the forged 6.6.6.6
