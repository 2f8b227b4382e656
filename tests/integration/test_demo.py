"""The demo of README.rst, end to end: two services in two processes, SQLite storage."""
import os
import re
import subprocess

import pytest
import requests

from klue import make_app
from tests.cli.test_cli import DEMO_KEY, ROOT, klue_serve, stop, wait_until_up
from tests.conftest import REPO_ROOT
from tests.live import free_port

PETSTORE = os.path.join(ROOT, "specs", "petstore.yaml")
GATEWAY = os.path.join(ROOT, "specs", "gateway.yaml")


def test_demo_in_one_process(tmp_path, monkeypatch):
    monkeypatch.setenv("PETSTORE_DB", str(tmp_path / "pets.sqlite3"))
    c = make_app(PETSTORE, GATEWAY).test_client()
    rex = c.post("/v1/pets", json={"name": "Rex", "kind": "dog", "born": "2020-04-01"}, headers=DEMO_KEY).get_json()
    assert rex == {"id": 1, "name": "Rex", "kind": "dog", "born": "2020-04-01"}
    c.post("/v1/pets", json={"name": "Tom", "kind": "cat"}, headers=DEMO_KEY)
    assert [p["name"] for p in c.get("/v1/pets?kind=dog").get_json()] == ["Rex"]
    assert c.get("/v1/pets/1").get_json() == rex
    assert c.delete("/v1/pets/1", headers=DEMO_KEY).status_code == 204
    assert c.get("/v1/pets/1").status_code == 404
    assert c.post("/v1/pets", json={"name": "Rex", "owner": "me"}, headers=DEMO_KEY).status_code == 400
    assert c.get("/version").get_json() == {"petstore": "1.0.0", "gateway": "1.0.0"}


def test_demo_writes_need_the_api_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PETSTORE_DB", str(tmp_path / "pets.sqlite3"))
    monkeypatch.setenv("PETSTORE_API_KEY", "another-key")
    c = make_app(PETSTORE, GATEWAY).test_client()
    for headers in ({}, DEMO_KEY, {"X-API-Key": ""}):
        r = c.post("/v1/pets", json={"name": "Rex"}, headers=headers)
        assert r.status_code == 401 and r.get_json()["code"] == "UNAUTHORIZED"
        assert r.headers["WWW-Authenticate"] == 'ApiKey realm="petstore", in="header", name="X-API-Key"'
        assert c.post("/gateway/pets", json={"name": "Rex"}, headers=headers).status_code == 401
    assert c.delete("/v1/pets/1").status_code == 401
    assert c.post("/v1/pets", json={"name": "Rex"}, headers={"X-API-Key": "another-key"}).status_code == 201
    assert c.get("/v1/pets").status_code == 200  # reading stays public


@pytest.mark.slow
def test_gateway_calls_petstore_and_data_survives_a_restart(tmp_path):
    env = {"PETSTORE_DB": str(tmp_path / "pets.sqlite3")}
    pet_port, gw_port = free_port(), free_port()
    pets_url, gw_url = f"http://127.0.0.1:{pet_port}", f"http://127.0.0.1:{gw_port}"
    petstore = klue_serve(PETSTORE, "--port", str(pet_port), env=env)
    gateway = klue_serve(GATEWAY, "--port", str(gw_port), env={"PETSTORE_URL": pets_url})
    try:
        wait_until_up(f"{pets_url}/ping", petstore)
        wait_until_up(f"{gw_url}/ping", gateway)
        for name, kind in (("Rex", "dog"), ("Tom", "cat")):
            r = requests.post(f"{pets_url}/v1/pets", json={"name": name, "kind": kind}, headers=DEMO_KEY, timeout=5)
            assert r.status_code == 201
        # through the gateway, which passes the caller's key on (FORWARD)
        r = requests.post(f"{gw_url}/gateway/pets", json={"name": "Kit", "kind": "cat"}, headers=DEMO_KEY, timeout=10)
        assert r.status_code == 201 and r.json() == {"id": 3, "name": "Kit", "kind": "cat"}
        r = requests.post(f"{gw_url}/gateway/pets", json={"name": "Kat"}, headers={"X-API-Key": "wrong"}, timeout=10)
        assert r.status_code == 401
        # the specs name no host: each served spec says where it was fetched from, so "Try it out" works
        for url, base in ((pets_url, "/v1"), (gw_url, "/gateway")):
            served = requests.get(f"{url}{base}/swagger.json", timeout=5).json()
            assert (served["host"], served["schemes"], served["basePath"]) == (url[len("http://"):], ["http"], base)
        summary = requests.get(f"{gw_url}/gateway/summary", timeout=10).json()
        assert summary["total"] == 3
        assert {k["kind"]: k["count"] for k in summary["kinds"]} == {"cat": 2, "dog": 1, "bird": 0, "fish": 0}
        call_id = summary["call_id"]
    finally:
        _, pet_log = stop(petstore)
        _, gw_log = stop(gateway)
    # one call ID in both services' logs; the petstore saw the path gateway.petstore
    assert "gateway GET /gateway/summary -> 200" in gw_log and f"(call {call_id}, path gateway)" in gw_log
    assert len(re.findall(rf"petstore GET /v1/pets\?kind=\w+&limit=100 -> 200 .*\(call {call_id}, path gateway\.petstore\)", pet_log)) == 4
    assert re.search(r"petstore POST /v1/pets -> 201 .*path gateway\.petstore\)", pet_log)
    assert "demo-key" not in pet_log and "demo-key" not in gw_log

    petstore = klue_serve(PETSTORE, "--port", str(pet_port), env=env)  # the same database, a new process
    try:
        wait_until_up(f"{pets_url}/ping", petstore)
        names = [p["name"] for p in requests.get(f"{pets_url}/v1/pets", timeout=5).json()]
        assert names == ["Rex", "Tom", "Kit"]
    finally:
        stop(petstore)


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def tour_of_the_readme() -> list[tuple[str, str]]:
    """README.rst's "A tour of the demo": each ``$ curl`` command and what it prints."""
    readme = (REPO_ROOT / "README.rst").read_text(encoding="utf-8")
    section = readme[readme.index("A tour of the demo\n"):readme.index("The 401 also carries")]
    steps, command = [], None
    for line in (line.strip() for line in section.splitlines()):
        if line.startswith("$ "):
            command = line[2:]
        elif command is not None and command.endswith("\\"):
            command = command[:-1] + " " + line
        elif command is not None and line:
            steps.append((command, line))
            command = None
    return steps


@pytest.mark.slow
def test_the_tour_of_the_readme_prints_what_it_says(tmp_path):
    steps = tour_of_the_readme()
    assert len(steps) == 7 and all(command.startswith("curl -s ") for command, _ in steps)
    port = free_port()
    server = klue_serve(PETSTORE, GATEWAY, "--port", str(port), env={"PETSTORE_DB": str(tmp_path / "pets.sqlite3")})
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ping", server)
        for command, shown in steps:
            command = command.replace("localhost:8080", f"127.0.0.1:{port}")
            out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=30)
            assert out.returncode == 0, (command, out.stderr)
            assert UUID.sub("<call id>", out.stdout) == UUID.sub("<call id>", shown), command
    finally:
        _, log = stop(server)
    # the log lines the README shows, times and call IDs aside
    readme = (REPO_ROOT / "README.rst").read_text(encoding="utf-8")
    for line in re.findall(r"^    (INFO klue\.access: .*)$", readme, re.MULTILINE):
        masked = re.sub(r" in [0-9.]+ ms ", " in <ms> ms ", UUID.sub("<id>", line))
        pattern = re.escape(masked).replace("<id>", UUID.pattern).replace("<ms>", "[0-9.]+")
        assert re.search(pattern, log), line
