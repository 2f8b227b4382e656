"""The klue command: validate, routes, serve; and make_app under gunicorn."""
import os
import signal
import subprocess
import sys
import time

import pytest
import requests
from click.testing import CliRunner

from klue.cli import main
from tests.conftest import REPO_ROOT, spec_path
from tests.live import free_port

ROOT = str(REPO_ROOT)
BROKEN = """
swagger: "2.0"
info: {title: broken, version: "1"}
paths:
  /a/{id}:
    get:
      parameters: [{in: query, name: q, type: integr}]
      responses: {200: {description: ok}}
"""


def run(*args):
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


# -- validate --------------------------------------------------------------------------

def test_validate_names_the_openapi_version():
    code, out = run("validate", spec_path("petstore.openapi3.yaml"), spec_path("zoo.openapi31.yaml"))
    assert code == 0
    assert "petstore.openapi3.yaml: ok, OpenAPI 3.0.3, 7 operations, 4 models" in out
    assert "zoo.openapi31.yaml: ok, OpenAPI 3.1.0, 5 operations, 3 models" in out


def test_validate_good_specs():
    code, out = run("validate", spec_path("petstore.yaml"), os.path.join(ROOT, "specs", "gateway.yaml"))
    assert code == 0
    assert "petstore.yaml: ok, Swagger 2.0, 7 operations, 4 models" in out
    assert "gateway.yaml: ok" in out


def test_validate_lists_every_problem_with_file_and_pointer(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text(BROKEN)
    code, out = run("validate", str(bad), spec_path("petstore.yaml"))
    assert code == 1
    lines = out.strip().splitlines()
    assert f"{bad}: GET /a/{{id}}: at /paths/~1a~1{{id}}/get/parameters/0/type: parameter 'q' needs a type" in lines[0]
    assert any("{id} has no 'in: path' parameter" in line for line in lines)
    assert lines[-1].endswith("petstore.yaml: ok, Swagger 2.0, 7 operations, 4 models")


@pytest.mark.parametrize("content, message", [
    (None, "cannot read spec file"),
    ("swagger: '2.0'\ninfo: [\n", "invalid YAML/JSON (line"),
])
def test_validate_unreadable_specs(tmp_path, content, message):
    path = tmp_path / "s.yaml"
    if content is not None:
        path.write_text(content)
    code, out = run("validate", str(path))
    assert code == 1 and message in out and "Traceback" not in out


def test_validate_reports_bad_x_persist(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text('swagger: "2.0"\ninfo: {title: p, version: "1"}\npaths: {}\n'
                    "definitions:\n  A: {type: object, x-persist: nowhere_xyz.Store}\n")
    code, out = run("validate", str(path))
    assert code == 1 and "x-persist of definition 'A'" in out and "nowhere_xyz" in out


# -- routes ------------------------------------------------------------------------------

def test_routes_table():
    code, out = run("routes", spec_path("behaviours.yaml"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["METHOD", "PATH", "SERVER", "CLIENT", "SECURITY"]
    assert lines[1].split() == ["GET", "/api/thing", "tests.handlers.behaviours.respond", "getThing", "public"]
    assert ["GET", "/api/skipped", "skipped", "(x-no-bind-server)", "-", "public"] in [line.split() for line in lines]


def test_routes_show_the_client_name_api_client_reaches(tmp_path):
    """operationIds such as ``__main__.x`` or ``2fa`` show the name they are called by; a clash shows none."""
    import json

    from tests.client.test_client import ODD_IDS, ODD_NAMES, odd_ids_spec

    spec = tmp_path / "odd.yaml"
    spec.write_text(json.dumps(odd_ids_spec(), ensure_ascii=False), encoding="utf-8")
    code, out = run("routes", str(spec))
    assert code == 0, out
    clients = {line.split()[1]: line.split()[3] for line in out.splitlines()[1:]}
    assert clients == {**{path: name for name, path in ODD_NAMES.items()}, "/snake": "-", "/dash": "-", "/y": "-",
                       "/_y": "-"}
    assert set(clients) == set(ODD_IDS)


def test_routes_show_each_operations_security(tmp_path):
    spec = tmp_path / "secured.yaml"
    spec.write_text(SECURED)
    code, out = run("routes", str(spec))
    assert code == 0, out
    rows = {tuple(line.split()[:2]): line.split()[4:] for line in out.splitlines()[1:]}
    assert rows[("GET", "/things")] == ["key"]
    assert rows[("POST", "/things")] == ["oauth[write]", "+", "key", "|", "basic"]
    assert rows[("GET", "/open")] == ["public"]
    assert rows[("GET", "/maybe")] == ["public", "|", "key"]


def test_validate_reports_undeclared_schemes_and_scopes(tmp_path):
    spec = tmp_path / "secured.yaml"
    spec.write_text(SECURED.replace("[{oauth: [write], key: []}, {basic: []}]", "[{oauth: [write, admin]}, {nope: []}]"))
    code, out = run("validate", str(spec))
    assert code == 1
    assert ("secured.yaml: POST /things: at /paths/~1things/post/security/0/oauth: scope 'admin' is not declared "
            "by oauth2 scheme 'oauth' (declared: read, write)") in out
    assert ("secured.yaml: POST /things: at /paths/~1things/post/security/1/nope: security requirement names scheme "
            "'nope', which is not declared (declared: basic, key, oauth)") in out


SECURED = """
swagger: "2.0"
info: {title: secured, version: "1"}
securityDefinitions:
  key: {type: apiKey, in: header, name: X-API-Key}
  basic: {type: basic}
  oauth: {type: oauth2, flow: application, tokenUrl: "https://example.com/token", scopes: {read: r, write: w}}
security: [{key: []}]
paths:
  /things:
    get:
      responses: {200: {description: ok}}
    post:
      security: [{oauth: [write], key: []}, {basic: []}]
      responses: {200: {description: ok}}
  /open:
    get:
      security: []
      responses: {200: {description: ok}}
  /maybe:
    get:
      security: [{}, {key: []}]
      responses: {200: {description: ok}}
"""


def test_routes_of_a_broken_spec(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text(BROKEN)
    code, out = run("routes", str(bad))
    assert code == 1 and "klue: " in out and "Traceback" not in out


def test_unknown_option_and_missing_argument():
    code, out = run("serve", "--bogus")
    assert code == 2 and "No such option" in out
    code, out = run("validate")
    assert code == 2 and "Missing argument" in out


# -- serve, as a user runs it -------------------------------------------------------------

#: The demo's API key (examples/petstore.py): writes need it.
DEMO_KEY = {"X-API-Key": "demo-key"}


def klue_serve(*args, env=None, cwd=ROOT):
    return subprocess.Popen([sys.executable, "-m", "klue.cli", "serve", *args], cwd=cwd,
                            env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until_up(url, proc, timeout=60):  # generous: CI machines are shared and slow to fork gunicorn
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.communicate()}")
        try:
            return requests.get(url, timeout=2)
        except (requests.ConnectionError, requests.Timeout):  # gunicorn accepts before its workers are up
            time.sleep(0.1)
    raise AssertionError(f"{url} did not come up")


def stop(proc):
    proc.send_signal(signal.SIGINT)  # what Ctrl-C does
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("the server did not stop on Ctrl-C")
    return proc.returncode, err


def test_serve_a_project_folder_with_health_routes_and_docs(tmp_path):
    (tmp_path / "handlers.py").write_text("def hello(name):\n    return {'text': 'hi ' + name}\n")
    (tmp_path / "api.yaml").write_text(
        'swagger: "2.0"\ninfo: {title: t, version: "2.5"}\nbasePath: /t\npaths:\n  /hello/{name}:\n    get:\n'
        "      x-bind-server: handlers.hello\n      parameters: [{in: path, name: name, type: string, required: true}]\n"
        "      responses: {200: {description: ok, schema: {type: object}}}\n")
    port = free_port()
    proc = klue_serve("api.yaml", "--port", str(port), cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_until_up(f"{base}/ping", proc).json() == {}
        assert requests.get(f"{base}/version", timeout=5).json() == {"api": "2.5"}
        assert requests.get(f"{base}/t/hello/bob", timeout=5).json() == {"text": "hi bob"}
        assert requests.get(f"{base}/t/swagger.json", timeout=5).json()["info"]["version"] == "2.5"
        assert "swagger-ui-bundle.js" in requests.get(f"{base}/t/docs", timeout=5).text
    finally:
        code, err = stop(proc)
    assert code == 0 and "klue: stopped" in err and "Traceback" not in err
    assert "api GET /t/hello/bob -> 200" in err  # the access log


def test_serve_reports_a_port_in_use():
    port = free_port()
    with __import__("socket").socket() as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        proc = klue_serve(spec_path("behaviours.yaml"), "--port", str(port))
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1] == f"klue: cannot listen on 127.0.0.1:{port}: in use"


@pytest.mark.parametrize("spec_text, message", [
    (None, "cannot read spec file"),
    ('swagger: "2.0"\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get:\n      x-bind-server: nowhere_xyz.f\n'
     "      responses: {200: {description: ok}}\n", "cannot import module 'nowhere_xyz'"),
])
def test_serve_reports_bad_specs_in_one_line(tmp_path, spec_text, message):
    path = tmp_path / "s.yaml"
    if spec_text:
        path.write_text(spec_text)
    proc = klue_serve(str(path), "--port", str(free_port()))
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and message in err and "Traceback" not in err


def test_serve_with_mock_answers_unbound_operations(tmp_path):
    (tmp_path / "api.yaml").write_text(
        'swagger: "2.0"\ninfo: {title: t, version: "1"}\npaths:\n  /n:\n    get:\n'
        "      responses: {200: {description: ok, schema: {type: integer, minimum: 5}}}\n")
    port = free_port()
    proc = klue_serve("api.yaml", "--port", str(port), "--mock", "missing", cwd=tmp_path)
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/n", proc).json() == 5
    finally:
        stop(proc)


# -- the app factory under a real gunicorn ------------------------------------------------------

def test_make_app_under_gunicorn(tmp_path):
    port = free_port()
    spec = os.path.join(ROOT, "specs", "petstore.yaml")
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--graceful-timeout", "5",
         f"klue:make_app({spec!r})"],
        cwd=ROOT, env={**os.environ, "PETSTORE_DB": str(tmp_path / "pets.sqlite3")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        assert wait_until_up(f"{base}/ping", proc).status_code == 200
        r = requests.post(f"{base}/v1/pets", json={"name": "Rex", "kind": "dog"}, headers=DEMO_KEY, timeout=5)
        assert r.status_code == 201 and r.json()["name"] == "Rex"
        assert requests.get(f"{base}/v1/pets?kind=dog", timeout=5).json()[0]["name"] == "Rex"
        assert requests.get(f"{base}/v1/pets?kind=cow", timeout=5).status_code == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)


def test_serve_with_workers_runs_gunicorn(tmp_path):
    port = free_port()
    proc = klue_serve(os.path.join(ROOT, "specs", "petstore.yaml"), "--port", str(port), "--workers", "2",
                      env={"PETSTORE_DB": str(tmp_path / "pets.sqlite3")})
    try:
        assert wait_until_up(f"http://127.0.0.1:{port}/v1/pets", proc).json() == []
    finally:
        code, err = stop(proc)
    assert "gunicorn, 2 workers" in err and "Booting worker" in err
