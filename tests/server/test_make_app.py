"""make_app's production options: the proxies it trusts, and its health routes."""
import logging

import pytest

from klue import make_app
from klue.exceptions import BindingError, KlueException
from tests.conftest import REPO_ROOT

PETSTORE = str(REPO_ROOT / "specs" / "petstore.yaml")

#: What a reverse proxy terminating TLS for https://shop.example/api adds.
FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example",
             "X-Forwarded-Port": "443", "X-Forwarded-Prefix": "/api"}


@pytest.fixture(autouse=True)
def _database(tmp_path, monkeypatch):
    monkeypatch.setenv("PETSTORE_DB", str(tmp_path / "pets.sqlite3"))


def served_location(app, headers):
    spec = app.test_client().get("/v1/swagger.json", headers=headers).get_json()
    return spec["schemes"], spec.get("host"), spec["basePath"]


def test_behind_a_trusted_proxy_the_app_sees_the_clients_scheme_host_and_prefix():
    app = make_app(PETSTORE, trusted_proxies=1)
    assert served_location(app, FORWARDED) == (["https"], "shop.example", "/api/v1")  # 443 is https's own
    assert served_location(app, {}) == (["http"], "localhost", "/v1")  # a request that came round the proxy


def test_without_trusted_proxies_forwarded_headers_are_anyones_and_ignored():
    app = make_app(PETSTORE)
    assert served_location(app, FORWARDED) == (["http"], "localhost", "/v1")


def test_two_proxies_trust_the_second_value_from_the_right():
    app = make_app(PETSTORE, trusted_proxies=2)
    headers = {"X-Forwarded-Proto": "http, https", "X-Forwarded-Host": "forged.example, shop.example"}
    # the outer proxy (left) set what the client said; only the 2 nearest values are trusted
    assert served_location(app, headers)[:2] == (["http"], "forged.example")
    headers = {"X-Forwarded-Proto": "ftp, http, https", "X-Forwarded-Host": "forged.example, shop.example, lb.internal"}
    assert served_location(app, headers)[:2] == (["http"], "shop.example")


@pytest.mark.parametrize("count", [-1, 1.5, "1", True, None])
def test_trusted_proxies_must_be_a_count(count):
    with pytest.raises(KlueException, match="trusted_proxies must be a number of proxies"):
        make_app(PETSTORE, trusted_proxies=count)


def test_ready_without_a_check_is_200_once_the_app_is_built():
    r = make_app(PETSTORE).test_client().get("/ready")
    assert (r.status_code, r.get_json()) == (200, {"ready": True})


def test_ready_follows_the_check(caplog):
    state = {"ready": False}
    c = make_app(PETSTORE, ready=lambda: state["ready"]).test_client()
    assert (c.get("/ready").status_code, c.get("/ready").get_json()) == (503, {"ready": False})
    state["ready"] = True
    assert c.get("/ready").status_code == 200
    assert c.get("/ping").status_code == 200


def database_is_down():
    raise ConnectionError("db.internal:5432: connection refused, password=hunter2")


def test_a_failing_check_is_a_503_and_its_reason_stays_in_the_log(caplog):
    c = make_app(PETSTORE, ready=f"{__name__}.database_is_down").test_client()
    with caplog.at_level(logging.ERROR, logger="klue"):
        r = c.get("/ready")
    assert (r.status_code, r.get_json()) == (503, {"ready": False})
    assert b"hunter2" not in r.data and b"db.internal" not in r.data
    assert "readiness check database_is_down failed" in caplog.text and "connection refused" in caplog.text


def test_a_ready_check_that_cannot_be_found_fails_the_build():
    with pytest.raises(BindingError, match="make_app\\(ready=...\\): module 'tests.server' has no attribute 'nope'"):
        make_app(PETSTORE, ready="tests.server.nope")
    with pytest.raises(KlueException, match="must be a function or its dotted path"):
        make_app(PETSTORE, ready=42)


def test_a_spec_that_defines_ready_itself_keeps_it(tmp_path):
    spec = tmp_path / "own.yaml"
    spec.write_text("""
swagger: "2.0"
info: {title: own, version: "1"}
paths:
  /ready:
    get:
      x-bind-server: tests.server.test_make_app.own_ready
      responses: {200: {description: ok, schema: {type: string}}}
""")
    assert make_app(str(spec)).test_client().get("/ready").get_json() == "the spec's own"


def own_ready():
    return "the spec's own"


# -- logging configuration -------------------------------------------------------------------

LOGGING_EXAMPLE = REPO_ROOT / "examples" / "production" / "logging.yaml"


@pytest.fixture
def restore_logging():
    loggers = {name: logging.getLogger(name) for name in ("klue", "klue.access")}
    saved = {name: (lg.handlers[:], lg.level, lg.propagate) for name, lg in loggers.items()}
    yield
    for name, (handlers, level, propagate) in saved.items():
        for handler in loggers[name].handlers:
            if handler not in handlers:
                handler.close()
        loggers[name].handlers[:], loggers[name].level, loggers[name].propagate = handlers, level, propagate


def test_the_example_log_config_sends_the_access_log_to_its_file(tmp_path, monkeypatch, restore_logging):
    monkeypatch.chdir(tmp_path)  # the example's access.log is relative to the working directory
    c = make_app(PETSTORE, log_config=str(LOGGING_EXAMPLE)).test_client()
    c.get("/v1/pets?kind=dog")
    c.get("/v1/pets/999")
    for handler in logging.getLogger("klue.access").handlers:
        handler.flush()
    lines = (tmp_path / "access.log").read_text().splitlines()
    assert len(lines) == 2, lines
    assert " INFO klue.access: petstore GET /v1/pets?kind=dog -> 200 in " in lines[0]
    assert " INFO klue.access: petstore GET /v1/pets/999 -> 404 in " in lines[1] and "(call " in lines[1]


@pytest.mark.parametrize("content, name, message", [
    (None, "missing.yaml", "no such file"),
    ("- a list\n", "list.yaml", "must be a mapping"),
    ("version: 1\nhandlers: {h: {class: no.such.Handler}}\n", "bad.yaml", "ValueError: Unable to configure handler"),
    ("{not json", "bad.json", "ParserError"),
    ("[loggers]\nkeys=root\n", "bad.ini", "ValueError: no \\[formatters\\] section"),
])
def test_a_bad_log_config_is_one_clear_error(tmp_path, content, name, message, restore_logging):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(KlueException, match=f"log config {path}: .*{message}|log config {path}: {message}"):
        make_app(PETSTORE, log_config=str(path))


def test_the_access_log_names_the_client_the_proxy_saw_escaped(caplog):
    trusting, plain = make_app(PETSTORE, trusted_proxies=1), make_app(PETSTORE)
    with caplog.at_level(logging.INFO, logger="klue.access"):
        trusting.test_client().get("/v1/pets", headers=FORWARDED)
        plain.test_client().get("/v1/pets", headers=FORWARDED)
        trusting.test_client().get("/v1/pets", headers={"X-Forwarded-For": "1.2.3.4\x1b[2J\x00"})
        trusting.test_client().get("/v1/nope", headers={"X-Forwarded-For": "198.51.100.7"})
    lines = [r.getMessage() for r in caplog.records if r.name == "klue.access"]
    assert lines[0].endswith(") from 203.0.113.9")
    assert lines[1].endswith(") from 127.0.0.1")  # the forwarded header is anyone's: not trusted
    assert lines[2].endswith(") from 1.2.3.4\\x1b[2J\\x00"), lines[2]  # a terminal escape, escaped
    assert "-> 404" in lines[3] and lines[3].endswith(") from 198.51.100.7")
