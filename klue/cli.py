"""The ``klue`` command: validate specs, list their routes, serve them.

Every failure a user can cause (a missing file, a broken spec, a handler
that does not import, a port in use) is one clear line and a non-zero exit
status, never a traceback.
"""
from __future__ import annotations

import logging
import os
import socket
import sys
from typing import Any, Callable

import click

from ._version import __version__
from .api import API
from .app import api_name_for, make_app
from .exceptions import KlueException, SpecError
from .spec import load_spec

SPECS = click.argument("specs", nargs=-1, required=True, type=click.Path(dir_okay=False))


def _fail(message: str) -> None:
    click.echo(f"klue: {message}", err=True)
    sys.exit(1)


def _load(path: str) -> API:
    """Load a spec as ``ApiPool.add`` would (models, x-persist and client names
    included) without registering it anywhere."""
    return API(api_name_for(path), load_spec(yaml_path=path))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="klue")
def main() -> None:
    """Spec-first Flask services: validate, inspect and serve Swagger specs."""
    sys.path.insert(0, os.getcwd())  # x-bind-server: handlers.x, from a project folder


@main.command()
@SPECS
def validate(specs: tuple[str, ...]) -> None:
    """Check SPECS; print each problem with its file and JSON pointer."""
    failed = False
    for path in specs:
        try:
            api = _load(path)
        except SpecError as e:
            failed = True
            for problem in e.problems:
                click.echo(str(problem))
            continue
        except KlueException as e:
            failed = True
            click.echo(f"{path}: {e}")
            continue
        kind = "Swagger" if api.spec.version == "2.0" else "OpenAPI"
        click.echo(f"{path}: ok, {kind} {api.spec.version}, {len(api.spec.operations)} operations, "
                   f"{len(list(api.model))} models")
    sys.exit(1 if failed else 0)


@main.command()
@SPECS
def routes(specs: tuple[str, ...]) -> None:
    """List the routes of SPECS: method, full path, server binding, client name, security."""
    rows = [("METHOD", "PATH", "SERVER", "CLIENT", "SECURITY")]
    for path in specs:
        try:
            api = _load(path)
        except KlueException as e:
            _fail(str(e).splitlines()[0] if not isinstance(e, SpecError) else str(e.problems[0]))
        client_names = {id(op): name for name, op in api.client._operations.items()}
        for op in api.spec.operations:
            server = "skipped (x-no-bind-server)" if op.bindings.no_server else (op.bindings.server or "unbound")
            rows.append((op.method, api.spec.base_path + op.path, server, client_names.get(id(op), "-"),
                         security_summary(op.security)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(row)).rstrip())


def security_summary(requirements: list[dict[str, tuple[str, ...]]]) -> str:
    """``api_key | bearer[read,write] + basic``: alternatives, the schemes each needs, their scopes."""
    if not requirements:
        return "public"
    alternatives = []
    for requirement in requirements:
        parts = [name + (f"[{','.join(scopes)}]" if scopes else "") for name, scopes in requirement.items()]
        alternatives.append(" + ".join(parts) or "public")
    return " | ".join(alternatives)


@main.command()
@SPECS
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--mock", type=click.Choice(["missing", "all"]), help="Answer operations with examples: unbound ones, or all.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes; above 1, under gunicorn (pip install 'klue-client-server[serve]').")
@click.option("--reload", is_flag=True, help="Restart when a source file changes (development).")
@click.option("--no-docs", is_flag=True, help="Do not serve the specs and their docs pages.")
def serve(specs: tuple[str, ...], host: str, port: int, mock: str | None, workers: int, reload: bool, no_docs: bool) -> None:
    """Serve SPECS from one Flask app, with /ping and /version."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # klue.access logs each request already
    _check_port(host, port)
    self_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"

    def factory() -> Any:
        return make_app(*specs, mock=mock, docs=not no_docs, self_url=self_url)

    try:
        app = factory()  # in this process first: a broken spec fails here, once, clearly
    except SpecError as e:
        for problem in e.problems:
            click.echo(str(problem), err=True)
        _fail(f"cannot serve {', '.join(specs)}")
    except KlueException as e:
        _fail(str(e))
    server = f"gunicorn, {workers} workers" if workers > 1 else "one process; --workers N for production"
    click.echo(f"klue: serving {', '.join(specs)} on {self_url} ({server}; Ctrl-C to stop)", err=True)
    try:
        if workers > 1:
            _run_gunicorn(factory, host, port, workers, reload)
        else:
            app.run(host=host, port=port, threaded=True, use_reloader=reload)
    except KeyboardInterrupt:
        pass
    click.echo("klue: stopped", err=True)


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as e:
            reason = "in use" if e.errno in (98, 48, 10048) else (e.strerror or str(e))
            _fail(f"cannot listen on {host}:{port}: {reason}")


def _run_gunicorn(factory: Callable[[], Any], host: str, port: int, workers: int, reload: bool) -> None:
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        _fail("--workers above 1 needs gunicorn: pip install 'klue-client-server[serve]'")

    class KlueGunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {"bind": f"{host}:{port}", "workers": workers, "reload": reload,
                               "accesslog": None, "graceful_timeout": 5}.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return factory()

    KlueGunicorn().run()


if __name__ == "__main__":  # pragma: no cover
    main()
