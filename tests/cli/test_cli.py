"""The klue command: validate, routes, serve; and make_app under gunicorn."""
import os
import re
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
    assert f"{bad}: GET /a/{{id}}: at /paths/~1a~1{{id}}/get/parameters/0/type: type 'integr' is not one of: " \
        "array, boolean, integer, number, string (did you mean 'integer'?)" == lines[0]
    assert any("{id} has no 'in: path' parameter" in line for line in lines)
    assert lines[-1].endswith("petstore.yaml: ok, Swagger 2.0, 7 operations, 4 models")


UNUSABLE_FILES = {
    "missing": (None, "s.yaml: no such file"),
    "directory": ("<dir>", "s.yaml: is a directory, not a spec file"),
    "unreadable": ("<000>", "s.yaml: cannot be read: Permission denied"),
    "empty": ("", "at /: the document is empty"),
    "invalid YAML": ("swagger: '2.0'\ninfo: [\n", "at /: invalid YAML/JSON (line 3, column 1)"),
    "a list": ("- swagger: '2.0'\n", "at /: a spec must be a mapping at the top level, not list"),
}


@pytest.mark.parametrize("command", ["validate", "routes", "serve"])
@pytest.mark.parametrize("case", sorted(UNUSABLE_FILES))
def test_an_unusable_spec_file_is_one_line(tmp_path, monkeypatch, command, case):
    content, message = UNUSABLE_FILES[case]
    path = tmp_path / "s.yaml"
    if content == "<dir>":
        path.mkdir()
    elif content == "<000>":
        path.write_text("swagger: '2.0'\n")
        path.chmod(0)
        if os.geteuid() == 0:  # root reads any file: as if it were not root
            def refuse(*args, **kwargs):
                raise PermissionError(13, "Permission denied")
            monkeypatch.setattr("klue.cli.open", refuse, raising=False)
    elif content is not None:
        path.write_text(content)
    args = ["--port", str(free_port())] if command == "serve" else []
    code, out = run(command, str(path), *args)
    assert code == 1
    assert len(out.strip().splitlines()) == 1, out
    assert message in out and "Traceback" not in out


BOUND = """
swagger: "2.0"
info: {title: bound, version: "1"}
securityDefinitions:
  key: {type: apiKey, in: header, name: X-Key, x-bind-security: nowhere_sec.verify}
  legacy: {type: apiKey, in: query, name: k, x-apikeyInfoFunc: os.path.nowhere}
paths:
  /a:
    get:
      operationId: getA
      x-bind-server: nowhere_xyz.handler
      x-decorate-server: os.sep
      x-decorate-request: os.path.join
      responses: {200: {description: ok}}
definitions:
  A: {type: object, x-persist: nowhere_db.Store}
  B: {type: object, x-persist: os.path}
  C: {type: string, x-persist: nowhere_db.Store}
"""


def test_validate_imports_nothing_the_spec_binds(tmp_path):
    """Static by default: from any folder, bindings that do not import are not looked at (the demo's
    x-persist examples.petstore.PetStorage only imports from the repository's root)."""
    (tmp_path / "bound.yaml").write_text(BOUND)
    script = ("import sys\nfrom klue.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
              "    print('exit', e.code, sorted(m for m in ('flask', 'requests', 'examples', 'nowhere_xyz') "
              "if m in sys.modules))\n")
    for spec in ("bound.yaml", os.path.join(ROOT, "specs", "petstore.yaml")):
        out = subprocess.run([sys.executable, "-c", script, "validate", spec], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60).stdout
        assert ": ok, Swagger 2.0" in out and out.strip().endswith("exit 0 []"), out


def test_check_bindings_reports_every_binding_that_fails(tmp_path):
    path = tmp_path / "bound.yaml"
    path.write_text(BOUND)
    code, out = run("validate", "--check-bindings", str(path))
    assert code == 1 and "Traceback" not in out
    op = f"{path}: GET /a (getA): at /paths/~1a/get"
    assert out.splitlines() == [
        f"{op}/x-bind-server: cannot import module 'nowhere_xyz' for 'nowhere_xyz.handler': "
        "No module named 'nowhere_xyz'",
        f"{op}/x-decorate-server: os.sep is not callable",
        f"{path}: security scheme 'key': at /securityDefinitions/key/x-bind-security: "
        "cannot import module 'nowhere_sec' for 'nowhere_sec.verify': No module named 'nowhere_sec'",
        f"{path}: security scheme 'legacy': at /securityDefinitions/legacy/x-apikeyInfoFunc: "
        "module 'os.path' has no attribute 'nowhere'",
        f"{path}: definition 'A': at /definitions/A/x-persist: cannot import module 'nowhere_db' for "
        "'nowhere_db.Store': No module named 'nowhere_db'",
        f"{path}: definition 'B': at /definitions/B/x-persist: os.path has no static method 'load_from_db' "
        "or 'save_to_db'",
        f"{path}: definition 'C': at /definitions/C/x-persist: cannot import module 'nowhere_db' for "
        "'nowhere_db.Store': No module named 'nowhere_db'",
    ]
    code, out = run("validate", "--check-bindings", spec_path("behaviours.yaml"))
    assert code == 0 and ": ok" in out


def test_check_bindings_in_openapi3(tmp_path):
    path = tmp_path / "bound.yaml"
    path.write_text('openapi: 3.0.3\ninfo: {title: b, version: "1"}\npaths: {}\n'
                    "components:\n  schemas:\n    A: {type: object, x-persist: nowhere_db.Store}\n")
    code, out = run("validate", "--check-bindings", str(path))
    assert code == 1
    assert out.startswith(f"{path}: definition 'A': at /components/schemas/A/x-persist: cannot import module")


def test_validate_reports_client_name_clashes(tmp_path):
    path = tmp_path / "clash.yaml"
    path.write_text('swagger: "2.0"\ninfo: {title: c, version: "1"}\npaths:\n  /a:\n'
                    "    get: {operationId: get-a, responses: {200: {description: ok}}}\n"
                    "    put: {operationId: get_a, responses: {200: {description: ok}}}\n")
    code, out = run("validate", str(path))
    # a warning: the spec serves as it is; only whoever calls api.client.get_a gets the SpecError
    assert code == 0
    assert out.splitlines() == [
        f"warning: {path}: PUT /a (get_a): at /paths/~1a/put/operationId: client name 'get_a' of API "
        "'clash' is also used by GET /a (get-a)",
        f"{path}: ok, Swagger 2.0, 2 operations, 0 models"]
    code, out = run("routes", str(path))
    assert code == 0 and out.splitlines()[0].startswith("warning: ") and "client name 'get_a'" in out


# -- routes ------------------------------------------------------------------------------

def test_routes_table():
    code, out = run("routes", spec_path("behaviours.yaml"))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["METHOD", "PATH", "SERVER", "CLIENT", "SECURITY"]
    assert lines[1].split() == ["GET", "/api/thing", "tests.handlers.behaviours.respond", "getThing", "public"]
    assert ["GET", "/api/skipped", "skipped", "(x-no-bind-server)", "get_skipped", "public"] in [line.split() for line in lines]


def test_routes_show_the_client_name_api_client_reaches(tmp_path):
    """operationIds such as ``__main__.x`` or ``2fa`` show the name they are called by; a clash shows none."""
    import json

    from tests.client.test_client import ODD_IDS, ODD_NAMES, odd_ids_spec

    spec = tmp_path / "odd.yaml"
    spec.write_text(json.dumps(odd_ids_spec(), ensure_ascii=False), encoding="utf-8")
    code, out = run("routes", str(spec))
    assert code == 0, out
    table = [line for line in out.splitlines() if not line.startswith("warning: ")]
    assert len(table) < len(out.splitlines())  # the clashes are said, as warnings
    clients = {line.split()[1]: line.split()[3] for line in table[1:]}
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


def test_routes_of_a_broken_spec_lists_every_problem(tmp_path):
    bad = tmp_path / "broken.yaml"
    bad.write_text(BROKEN)
    code, out = run("routes", str(bad))
    _, validated = run("validate", str(bad))
    assert code == 1 and "Traceback" not in out
    assert out == validated and len(out.splitlines()) == 2


def test_routes_import_nothing_the_spec_binds(tmp_path):
    path = tmp_path / "bound.yaml"
    path.write_text(BOUND)
    code, out = run("routes", str(path))
    assert code == 0
    assert out.splitlines()[1].split() == ["GET", "/a", "nowhere_xyz.handler", "getA", "public"]


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
    (None, "s.yaml: no such file"),
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
    assert len(err.strip().splitlines()) == 1, err


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


@pytest.mark.parametrize("file_name, api_name", [("1pets.yaml", "api_1pets"), ("get.yaml", "get_api")])
def test_a_file_name_every_command_accepts(tmp_path, file_name, api_name):
    """Issue 15: validate said ok, serve refused the name derived from the file name."""
    from klue.app import make_app
    from klue.swagger import ApiPool

    path = tmp_path / file_name
    path.write_text('swagger: "2.0"\ninfo: {title: t, version: "1"}\npaths:\n  /a:\n    get:\n'
                    "      responses: {200: {description: ok, schema: {type: integer}}}\n")
    assert run("validate", str(path))[0] == 0 and run("routes", str(path))[0] == 0
    app = make_app(str(path), mock="all", import_path=None)
    assert ApiPool.get(api_name).spec.source == str(path)
    assert app.test_client().get("/version").json == {api_name: "1"}


@pytest.mark.parametrize("server", ["http://[::1/v1", "http://h/v1/<x>"])
def test_a_server_url_that_cannot_be_routed_fails_validate_and_serve_alike(tmp_path, server):
    """validate said ok (or crashed on the IPv6 one) and serve crashed with a traceback."""
    path = tmp_path / "s.yaml"
    path.write_text(f'openapi: 3.0.3\ninfo: {{title: t, version: "1"}}\nservers: [{{url: "{server}"}}]\npaths: {{}}\n')
    code, out = run("validate", str(path))
    assert code == 1 and out.startswith(f"{path}: at /servers/0/url: ") and len(out.splitlines()) == 1
    code, served = run("serve", str(path), "--port", str(free_port()))
    assert code == 1 and served == f"klue: {out}"


@pytest.mark.parametrize("command", ["validate", "routes"])
def test_even_a_bug_of_klues_is_one_line(monkeypatch, command):
    def broken(**kwargs):
        raise RuntimeError("a bug")
    monkeypatch.setattr("klue.cli.load_spec", broken)
    code, out = run(command, spec_path("petstore.yaml"))
    assert code == 1 and out.strip().endswith("petstore.yaml: klue could not load it: RuntimeError: a bug")
    assert len(out.splitlines()) == 1


# -- serve: production options ----------------------------------------------------------------

PROJECT_SPEC = ('swagger: "2.0"\ninfo: {title: t, version: "2.5"}\nbasePath: /t\npaths:\n  /hello/{name}:\n    get:\n'
                "      x-bind-server: handlers.hello\n      parameters: [{in: path, name: name, type: string, "
                "required: true}]\n      responses: {200: {description: ok, schema: {type: object}}}\n")

HANDLERS = """
import os

def hello(name):
    return {'text': 'hi ' + name}

def ready():
    return os.path.exists('ready.flag')
"""

LOG_CONFIG = """
version: 1
formatters: {bare: {format: "ACCESS %(message)s"}}
handlers: {file: {class: logging.FileHandler, filename: access.log, formatter: bare}}
loggers: {klue.access: {level: INFO, handlers: [file], propagate: false}}
"""


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_serve_takes_its_production_options_from_the_environment(tmp_path, workers):
    """KLUE_SERVE_<OPTION> for every option: here the port, the proxies trusted, the readiness check and the
    logging configuration, in waitress (one process) and gunicorn (workers) alike."""
    (tmp_path / "handlers.py").write_text(HANDLERS)
    (tmp_path / "api.yaml").write_text(PROJECT_SPEC)
    (tmp_path / "logging.yaml").write_text(LOG_CONFIG)
    port = free_port()
    env = {"KLUE_SERVE_PORT": str(port), "KLUE_SERVE_WORKERS": str(workers), "KLUE_SERVE_TRUSTED_PROXIES": "1",
           "KLUE_SERVE_READY": "handlers.ready", "KLUE_SERVE_LOG_CONFIG": "logging.yaml"}
    proc = klue_serve("api.yaml", cwd=tmp_path, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/ping", proc)
        assert requests.get(f"{base}/ready", timeout=5).status_code == 503
        (tmp_path / "ready.flag").touch()
        assert requests.get(f"{base}/ready", timeout=5).json() == {"ready": True}
        forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example", "X-Forwarded-For": "203.0.113.9"}
        spec = requests.get(f"{base}/t/swagger.json", headers=forwarded, timeout=5).json()
        assert (spec["schemes"], spec["host"]) == (["https"], "api.example")
        assert requests.get(f"{base}/t/hello/bob", headers=forwarded, timeout=5).json() == {"text": "hi bob"}
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    access = (tmp_path / "access.log").read_text()
    assert re.search(r"^ACCESS api GET /t/hello/bob -> 200 in .* from 203\.0\.113\.9$", access, re.MULTILINE), access
    assert "klue.access" not in err  # the file's handler has it, not stderr


def test_serve_refuses_a_missing_log_config_in_one_line(tmp_path):
    proc = klue_serve(spec_path("behaviours.yaml"), "--port", str(free_port()), "--log-config", "nope.yaml",
                      cwd=tmp_path)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.strip().splitlines() == ["klue: log config nope.yaml: no such file"] or \
        err.strip().splitlines()[-1].endswith("nope.yaml: no such file"), err


def test_serve_help_lists_the_production_options():
    code, out = run("serve", "--help")
    assert code == 0
    for option in ("--trusted-proxies", "--ready", "--log-config", "KLUE_SERVE_<OPTION>"):
        assert option in out, option
