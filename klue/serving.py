"""How ``klue serve`` runs an app: waitress in one process, gunicorn for several.

* One process: waitress. Its event loop reads and buffers each request
  before one of a fixed pool of ``threads`` runs it, so a slow client holds
  no thread; a connection silent for ``timeout`` seconds is closed; HTTP is
  parsed strictly; a body over the limit is refused (413) without being
  read; no response names the server or its version.
* ``workers`` > 1: gunicorn with gevent workers (the ``serve`` extra), where a
  slow client costs a greenlet, not a worker; ``timeout`` is then gunicorn's
  worker timeout. Without gevent, gthread workers of ``threads`` threads.
* SIGTERM (what ``docker stop``, Kubernetes and systemd send) stops
  gracefully: no new connection is accepted, requests in flight finish and
  are answered (for at most ``GRACEFUL_TIMEOUT`` seconds), then the process
  exits. Ctrl-C stops at once.
* ``reload``: the next request after a source file changes runs the new code.
  This process never imports the handlers, so a restarted child cannot
  inherit the old ones.

None of these servers is meant to face the internet alone: put a buffering
reverse proxy (nginx, a cloud load balancer) in front (README, "Serving").
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

AppFactory = Callable[[], Any]

#: Set in the child processes ``--reload`` runs (werkzeug's reloader protocol).
RELOADED_CHILD = "WERKZEUG_RUN_MAIN"


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    threads: int = 8
    timeout: int = 30
    reload: bool = False
    #: The largest body any served API accepts: the server refuses more unread
    #: (None: the served APIs' default, ``klue.server.spawn.DEFAULT_MAX_BODY_SIZE``).
    max_body_size: int | None = None
    #: Reverse proxies whose X-Forwarded-* headers the app believes (``make_app``'s
    #: ProxyFix); with none, waitress drops those headers before the app sees them.
    trusted_proxies: int = 0


def in_reloaded_child() -> bool:
    return os.environ.get(RELOADED_CHILD) == "true"


#: Seconds a stopping server (SIGTERM) gives in-flight requests to finish, waitress and gunicorn alike.
GRACEFUL_TIMEOUT = 5


def run_waitress(app: Any, options: ServeOptions) -> None:
    """Serve until Ctrl-C (at once) or SIGTERM (gracefully: no new connection, in-flight requests finish)."""
    import waitress

    from .server.spawn import DEFAULT_MAX_BODY_SIZE

    server = waitress.create_server(
        app,
        host=options.host,
        port=options.port,
        threads=options.threads,
        channel_timeout=options.timeout,
        ident="",  # no Server header
        max_request_body_size=options.max_body_size or DEFAULT_MAX_BODY_SIZE,
        max_request_header_size=64 * 1024,
        connection_limit=1000,
        asyncore_use_poll=True,  # select() cannot watch more than 1,024 sockets
        clear_untrusted_proxy_headers=not options.trusted_proxies,  # trusted: ProxyFix reads them
    )
    terminated = threading.Event()
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm(terminated)) if in_main_thread else None
    try:
        while not terminated.is_set():  # a signal interrupts the poll: SIGTERM is seen within a loop timeout
            server.asyncore.loop(timeout=server.adj.asyncore_loop_timeout, map=server._map, use_poll=True, count=1)
        drain(server, GRACEFUL_TIMEOUT)
    except KeyboardInterrupt:
        pass
    finally:
        server.task_dispatcher.shutdown(timeout=1)
        server.asyncore.close_all(server._map)
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _on_sigterm(terminated: threading.Event) -> Callable[[int, Any], None]:
    def stop_serving(signum: int, frame: Any) -> None:
        terminated.set()

    return stop_serving


def drain(server: Any, grace: float) -> None:
    """Stop accepting, then run waitress's loop until no request is in flight
    (queued, running, or its answer not yet sent), for at most ``grace`` seconds."""
    server.del_channel()  # the listening socket leaves the loop; channels stay
    server.socket.close()
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and _in_flight(server):
        server.asyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)


def _in_flight(server: Any) -> bool:
    dispatcher = server.task_dispatcher
    if dispatcher.queue or dispatcher.active_count:
        return True
    return any(getattr(c, "requests", None) or getattr(c, "total_outbufs_len", 0) for c in list(server._map.values()))


def run_with_reloader(factory: AppFactory, options: ServeOptions, extra_files: list[str] | None = None) -> None:
    """werkzeug's reloader: this process imports no handler; a child serves,
    and is restarted when a module it loaded or one of ``extra_files`` changes.
    A child whose ``factory`` returns None (the spec is broken) only waits."""
    from werkzeug._reloader import (
        run_with_reloader as reloader,  # the reloader Flask's own ``run`` uses
    )

    def serve_in_child() -> None:
        app = factory()
        if app is not None:
            run_waitress(app, options)

    reloader(serve_in_child, extra_files=extra_files)


def gunicorn_command(app_spec: str, options: ServeOptions) -> list[str]:
    """The gunicorn command line serving ``app_spec`` (``module:factory(args)``)
    with settings that survive slow clients."""
    try:
        import gevent  # noqa: F401
    except ImportError:
        worker = ["--worker-class", "gthread", "--threads", str(options.threads)]
    else:
        worker = ["--worker-class", "gevent", "--worker-connections", "1000"]
    host = f"[{options.host}]" if ":" in options.host else options.host
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{host}:{options.port}",
        "--workers",
        str(options.workers),
        *worker,
        "--timeout",
        str(options.timeout),
        "--graceful-timeout",
        str(GRACEFUL_TIMEOUT),
        "--keep-alive",
        "5",
        "--limit-request-field_size",
        str(16 * 1024),
        *(["--reload"] if options.reload else []),
        app_spec,
    ]


def run_gunicorn(app_spec: str, options: ServeOptions) -> None:
    """Replace this process with a gunicorn master that has imported nothing
    but gunicorn: gevent patches each worker before klue and the handlers
    are imported, and with ``reload`` a restarted worker loads new code."""
    command = gunicorn_command(app_spec, options)
    os.execv(command[0], command)


def build_in_child(factory: AppFactory, report: Callable[[BaseException], str]) -> str | None:
    """Build the app once in a forked child: a broken spec is reported here,
    clearly, while this process imports no handler. Returns the failure's
    text (``report(exception)``), or None when the app builds."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        os.close(read_end)
        status = 0
        try:
            factory()
            message = b""
        except BaseException as e:  # whatever it is, the parent says it
            message, status = report(e).encode("utf-8", "replace"), 1
        with os.fdopen(write_end, "wb") as out:
            out.write(message)
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        text = pipe.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    return None if os.waitstatus_to_exitcode(status) == 0 else (text or "the app could not be built")


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform != "win32"
