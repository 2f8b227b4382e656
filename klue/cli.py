"""The ``klue`` command: validate specs, list their routes, serve them.

Every failure a user can cause (a missing file, a broken spec, a handler
that does not import, a port in use) is one clear line and a non-zero exit
status, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import sys
from collections.abc import Callable
from typing import Any

import click

from . import serving
from ._version import __version__
from .api import API
from .exceptions import KlueException, SpecError, SpecProblem
from .naming import caller_name_of
from .pool import file_api_name
from .serving import ServeOptions, build_in_child, can_fork, in_reloaded_child
from .spec import load_spec

#: Plain paths: a missing file or a directory is said in one line by ``_unreadable``,
#: not in click's usage error.
SPECS = click.argument("specs", nargs=-1, required=True, type=click.Path(readable=False))


def _fail(message: str) -> None:
    click.echo(f"klue: {message}", err=True)
    sys.exit(1)


def _unreadable(path: str) -> str:
    """Why ``path`` cannot be a spec file ('' when it can be read)."""
    if os.path.isdir(path):
        return "is a directory, not a spec file"
    if not os.path.exists(path):
        return "no such file"
    try:
        with open(path, "rb"):
            pass
    except OSError as e:
        return f"cannot be read: {e.strerror or e}"
    return ""


def _check_files(specs: tuple[str, ...]) -> None:
    """Exit with one line per spec file that cannot be read, before anything is loaded."""
    failures = [f"klue: {path}: {reason}" for path in specs for reason in [_unreadable(path)] if reason]
    if failures:
        click.echo("\n".join(failures), err=True)
        sys.exit(1)


def _load(path: str) -> API:
    """Load a spec as ``ApiPool.add`` would (models and their classes included) without
    registering it, nor importing the code it binds (``--check-bindings`` does)."""
    return API(file_api_name(path), load_spec(yaml_path=path), do_persist=False)


def _check(path: str, check_bindings: bool = False) -> tuple[API | None, list[str]]:
    """The API of the spec at ``path`` (None if it does not load) and its problems, one line each."""
    reason = _unreadable(path)
    if reason:
        return None, [f"{path}: {reason}"]
    try:
        api = _load(path)
    except SpecError as e:
        return None, [str(problem) for problem in e.problems]
    except KlueException as e:
        return None, [f"{path}: {e}"]
    except Exception as e:  # a bug of klue's: said in one line all the same, never a traceback
        return None, [f"{path}: klue could not load it: {type(e).__name__}: {e}"]
    problems: list[SpecProblem] = []
    if check_bindings:
        from .bindings import binding_problems

        problems.extend(binding_problems(api))
    return api, [str(problem) for problem in problems]


def client_name_warnings(api: API) -> list[str]:
    """Two operations that claim one caller name: a warning, not a problem. The spec
    serves as it is; only whoever calls that name gets the error (``SpecError``)."""
    return [f"warning: {problem}" for problem in _client_name_clashes(api)]


def _client_name_clashes(api: API) -> list[SpecProblem]:
    names = [caller_name_of(op.method, op.path, op.bindings.client, op.operation_id) for op in api.spec.operations]
    if len(set(names)) == len(names):
        return []  # no clash: the client (and requests, 0.1 s) need not be imported to say so
    from .client.namespace import client_names

    _, clashes = client_names(api.name, api.spec.source, api.spec.operations)
    return [problem for clash in clashes.values() for problem in clash.problems]


#: Every option can come from the environment: ``KLUE_SERVE_PORT=9000`` is ``klue serve --port 9000``.
ENV_PREFIX = "KLUE"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": ENV_PREFIX})
@click.version_option(__version__, prog_name="klue")
def main() -> None:
    """Spec-first Flask services: validate, inspect and serve Swagger specs."""
    sys.path.insert(0, os.getcwd())  # x-bind-server: handlers.x, from a project folder


@main.command()
@SPECS
@click.option(
    "--check-bindings",
    is_flag=True,
    help="Also import every x-bind-server, x-bind-security, x-persist and x-decorate-* target "
    "(from the current directory, as klue serve does) and report each one that fails.",
)
def validate(specs: tuple[str, ...], check_bindings: bool) -> None:
    """Check SPECS; print each problem with its file, operation and JSON pointer.

    The spec, its schemas, models and client names are checked without running
    any of the code the spec names, unless --check-bindings."""
    failed = False
    for path in specs:
        api, problems = _check(path, check_bindings)
        if problems or api is None:
            failed = True
            click.echo("\n".join(problems))
            continue
        for warning in client_name_warnings(api):
            click.echo(warning)
        kind = "Swagger" if api.spec.version == "2.0" else "OpenAPI"
        click.echo(
            f"{path}: ok, {kind} {api.spec.version}, {len(api.spec.operations)} operations, "
            f"{len(list(api.model))} models"
        )
    sys.exit(1 if failed else 0)


@main.command()
@SPECS
def routes(specs: tuple[str, ...]) -> None:
    """List the routes of SPECS: method, full path, server binding, client name, security.

    Nothing the specs bind is imported; a spec with problems is reported as
    validate reports it (each problem), and nothing is listed."""
    from .client.namespace import client_names

    rows = [("METHOD", "PATH", "SERVER", "CLIENT", "SECURITY")]
    failures: list[str] = []
    for path in specs:
        api, problems = _check(path)
        if problems or api is None:
            failures.extend(problems)
            continue
        for warning in client_name_warnings(api):
            click.echo(warning, err=True)
        names, _ = client_names(api.name, api.spec.source, api.spec.operations)
        by_operation = {id(op): name for name, op in names.items()}
        for op in api.spec.operations:
            server = "skipped (x-no-bind-server)" if op.bindings.no_server else (op.bindings.server or "unbound")
            rows.append(
                (
                    op.method,
                    api.spec.base_path + op.path,
                    server,
                    by_operation.get(id(op), "-"),
                    security_summary(op.security),
                )
            )
    if failures:
        click.echo("\n".join(failures), err=True)
        sys.exit(1)
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


def _count_option(flag: str, low: int, high: int, help: str, default: int = 1) -> Callable[[Any], Any]:
    """An option taking a whole number from ``low`` to ``high``."""
    return click.option(flag, default=default, show_default=True, type=click.IntRange(low, high), help=help)


@main.command()
@SPECS
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option(
    "--mock", type=click.Choice(["missing", "all"]), help="Answer operations with examples: unbound ones, or all."
)
@_count_option(
    "--workers", 1, 64, "Worker processes; above 1, under gunicorn (pip install 'klue-client-server[serve]')."
)
@_count_option("--threads", 1, 256, "Threads running requests (per worker without gevent).", ServeOptions.threads)
@_count_option(
    "--timeout",
    1,
    3600,
    "Seconds: a silent connection is closed (one process); a stuck worker is restarted (--workers).",
    ServeOptions.timeout,
)
@click.option("--reload", is_flag=True, help="Run the new code after a source or spec file changes (development).")
@click.option("--no-docs", is_flag=True, help="Do not serve the specs and their docs pages.")
@_count_option(
    "--trusted-proxies", 0, 16, "Reverse proxies in front whose X-Forwarded-* headers to believe (0: none).", 0
)
@click.option("--ready", metavar="CHECK", help="Dotted path of the function GET /ready asks (true: ready).")
@click.option(
    "--log-config",
    metavar="FILE",
    help="A logging configuration: dictConfig as YAML or JSON, or an INI file for fileConfig.",
)
def serve(
    specs: tuple[str, ...],
    host: str,
    port: int,
    mock: str | None,
    workers: int,
    threads: int,
    timeout: int,
    reload: bool,
    no_docs: bool,
    trusted_proxies: int,
    ready: str | None,
    log_config: str | None,
) -> None:
    """Serve SPECS from one Flask app, with /ping, /ready and /version.

    Every option can also be set as KLUE_SERVE_<OPTION> (KLUE_SERVE_PORT=9000)."""
    _check_files(specs)
    from .app import LOG_FORMAT, make_app  # Flask: only for serving

    if log_config is None:  # else make_app applies the file, in whichever process serves
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    else:
        log_config = os.path.abspath(log_config)
    options = ServeOptions(
        host=host,
        port=port,
        workers=workers,
        threads=threads,
        timeout=timeout,
        reload=reload,
        trusted_proxies=trusted_proxies,
    )
    child = in_reloaded_child()
    if not child:  # a reloaded child binds the port its parent left free
        _check_port(host, port)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"
    # The served APIs call each other in process: over HTTP, nested calls could
    # take every thread of the fixed pool and wait on each other.
    production: dict[str, Any] = {"trusted_proxies": trusted_proxies, "ready": ready, "log_config": log_config}
    factory = functools.partial(make_app, *specs, mock=mock, docs=not no_docs, **production)
    if workers > 1:
        _require_gunicorn()
        failure = build_in_child(factory, _failure_text) if can_fork() else None
        if failure:
            click.echo(failure, err=True)
            sys.exit(1)
    app = _build(factory) if workers == 1 and not reload else None  # a broken spec fails before "serving"
    if not child:
        server = f"gunicorn, {workers} workers" if workers > 1 else f"waitress, {threads} threads; --workers N for more"
        click.echo(f"klue: serving {', '.join(specs)} on {url} ({server}; Ctrl-C to stop)", err=True)
    try:
        if workers > 1:
            serving.run_gunicorn(_app_spec(specs, mock, not no_docs, production), options)
        elif reload:
            serving.run_with_reloader(
                functools.partial(_build, factory, exit_on_failure=False), options, extra_files=list(specs)
            )
        else:
            serving.run_waitress(app, options)
    except KeyboardInterrupt:
        pass
    if not child:
        click.echo("klue: stopped", err=True)


def _app_spec(specs: tuple[str, ...], mock: str | None, docs: bool, production: dict[str, Any]) -> str:
    """gunicorn's ``module:factory(literal arguments)`` for this app."""
    args = ", ".join(
        [
            *map(repr, (os.path.abspath(p) for p in specs)),
            f"mock={mock!r}",
            f"docs={docs!r}",
            f"import_path={os.getcwd()!r}",
            *(f"{name}={value!r}" for name, value in production.items()),
        ]
    )
    return f"klue.app:make_app({args})"


def _build(factory: Callable[[], Any], exit_on_failure: bool = True) -> Any:
    """The app, or its failure said clearly (and an exit, unless a reloader
    waits for the file that fixes it)."""
    try:
        return factory()
    except (KlueException, OSError) as e:
        click.echo(_failure_text(e), err=True)
        if exit_on_failure:
            sys.exit(1)
        click.echo("klue: waiting for a change to reload", err=True)
        return None


def _failure_text(e: BaseException) -> str:
    if isinstance(e, SpecError):  # one line per problem, as validate prints them
        return "\n".join(f"klue: {problem}" for problem in e.problems)
    if isinstance(e, (KlueException, OSError)):
        return f"klue: {e}"
    return f"klue: the app could not be built: {type(e).__name__}: {e}"


def _require_gunicorn() -> None:
    try:
        import gunicorn  # noqa: F401
    except ImportError:
        _fail("--workers above 1 needs gunicorn: pip install 'klue-client-server[serve]'")


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # as the server will bind: a port whose last connections are closing (TIME_WAIT) is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            reason = "in use" if e.errno in (98, 48, 10048) else (e.strerror or str(e))
            _fail(f"cannot listen on {host}:{port}: {reason}")


if __name__ == "__main__":  # pragma: no cover
    main()
