"""Request values that reach logs are escaped and bounded; every response says nosniff (issue 13, in part)."""
import logging

from flask import Flask

from klue.context import MAX_CALL_PATH_HOPS, MAX_CALL_PATH_LENGTH
from klue.logsafe import MAX_LOGGED, loggable
from klue.swagger import ApiPool

SPEC = """
swagger: "2.0"
info: {title: logs, version: "1"}
basePath: /api
paths:
  /things/{name}:
    get:
      x-bind-server: tests.handlers.logs.call_path
      parameters:
        - {in: path, name: name, type: string, required: true}
        - {in: query, name: q, type: string}
      responses: {200: {description: ok, schema: {type: object}}}
"""


def app():
    api = ApiPool.add("logs", yaml_str=SPEC)
    flask_app = Flask("logs")
    api.spawn_api(flask_app)
    return flask_app


def test_loggable_escapes_every_control_character_and_bounds_the_text():
    assert loggable("a\nb\r\x1b[31m\x00\x7f\u2028\\") == "a\\x0ab\\x0d\\x1b[31m\\x00\\x7f\\u2028\\\\"
    long = loggable("x" * (MAX_LOGGED * 10))
    assert len(long) < MAX_LOGGED + 40 and long.endswith(f"...({MAX_LOGGED * 10} characters)")


def test_a_forged_access_line_stays_on_its_own_line(caplog):
    caplog.set_level(logging.INFO, logger="klue.access")
    forged = "%0a2026-12-01 INFO klue.access: logs DELETE /api/things/1 -> 204%1b[2J%00"
    app().test_client().get(f"/api/things/a%0d%0ab?q={forged}")
    lines = [r.getMessage() for r in caplog.records if r.name == "klue.access"]
    assert len(lines) == 1
    line = lines[0]
    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\x00" not in line
    assert "/api/things/a\\x0d\\x0ab?q=\\x0a2026-12-01" in line


def test_a_huge_path_or_query_makes_a_bounded_log_line(caplog):
    caplog.set_level(logging.INFO)
    client = app().test_client()
    client.get("/api/things/x?q=" + "y" * 200_000)
    client.get("/api/nothing/" + "z" * 200_000)  # a 404 under the API, logged by klue.server
    for record in caplog.records:
        if record.name.startswith("klue"):
            assert len(record.getMessage()) < 2 * MAX_LOGGED + 500, record.name


def test_a_404_path_with_line_breaks_is_escaped_in_the_server_log(caplog):
    caplog.set_level(logging.INFO, logger="klue.server")
    r = app().test_client().get("/api/nothing%0aINFO%20forged")
    assert r.status_code == 404
    messages = [rec.getMessage() for rec in caplog.records if rec.name == "klue.server"]
    assert messages and all("\n" not in m for m in messages) and "nothing\\x0aINFO forged" in messages[0]


def test_a_caller_path_keeps_only_its_last_hops_within_bounds():
    client = app().test_client()
    hops = ".".join(f"svc{i}" for i in range(40))
    r = client.get("/api/things/x", headers={"KlueCallerPath": hops})
    path = r.get_json()["call_path"]
    assert path.split(".") == [f"svc{i}" for i in range(40 - MAX_CALL_PATH_HOPS + 1, 40)] + ["logs"]
    wide = ".".join(["h" * 64] * 12)  # 12 hops of 64 characters: over 512
    path = client.get("/api/things/x", headers={"KlueCallerPath": wide}).get_json()["call_path"]
    assert len(path) <= MAX_CALL_PATH_LENGTH and path.endswith(".logs") and path.startswith("h")
    for refused in ("x" * 60_000, "a..b", "a.b c", "ok.\x1b"):
        assert client.get("/api/things/x", headers={"KlueCallerPath": refused}).get_json()["call_path"] == "logs"


def test_every_response_says_nosniff():
    client = app().test_client()
    for path, status in (("/api/things/x", 200), ("/api/things/x?q=", 400), ("/api/nothing", 404),
                         ("/api/swagger.json", 200), ("/api/docs", 200)):
        r = client.get(path)
        assert r.status_code == status, path
        assert r.headers.get("X-Content-Type-Options") == "nosniff", path
    r = client.post("/api/things/x")
    assert r.status_code == 405 and r.headers["X-Content-Type-Options"] == "nosniff"
