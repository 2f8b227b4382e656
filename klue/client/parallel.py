"""``async_call``: run several calls at once, results in argument order.

The default backend is a pool of threads over each API's shared session,
created for the call and shut down before returning, so no thread outlives
it. The ``gevent`` backend runs calls as greenlets; it is used when asked
for, or when the process is already gevent-patched (gunicorn's gevent
worker), and needs the ``gevent`` extra. klue never patches anything itself.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .caller import Call

#: Threads for one async_call: one per call up to this. Calls mostly wait on
#: the network, so a second round (50 calls on 32 threads) costs a whole call time.
DEFAULT_MAX_WORKERS = 64
log = logging.getLogger("klue.client")


def _process_is_gevent_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("socket"))


def _runner(call: Call) -> Callable[[], Any]:
    """``call.call`` run in a copy of the caller's contextvars, where Flask 3 keeps
    ``g``: so calls made while serving a request carry its call ID and path.
    One copy per call, as a context cannot be entered by two threads at once."""
    context = contextvars.copy_context()

    def run_in_callers_context() -> Any:
        return context.run(call.call)

    return run_in_callers_context


def async_call(
    *calls: Call, max_workers: int | None = None, return_exceptions: bool = False, backend: str | None = None
) -> list[Any]:
    """Run ``calls`` concurrently and return their results in argument order.

    One failing call does not stop the others. When a call fails its slot holds
    what the API's ``error_callback`` returned; without a callback the failure
    is an exception, and after *all* calls finished the first such exception
    (in argument order) is raised, or, with ``return_exceptions=True``, the
    exceptions are returned in their slots.
    """
    for c in calls:
        if not isinstance(c, Call):
            raise TypeError(f"async_call takes calls such as ApiPool.x.client.op(...), got {c!r}")
    if not calls:
        return []
    backend = backend or ("gevent" if _process_is_gevent_patched() else "threads")
    runners = [_runner(c) for c in calls]
    if backend == "gevent":
        if not _process_is_gevent_patched():
            log.warning("async_call(backend='gevent') in a process gevent has not patched: the calls run one by one")
        outcomes = _run_greenlets(runners, max_workers)
    elif backend == "threads":
        outcomes = _run_threads(runners, max_workers)
    else:
        raise ValueError(f"unknown async_call backend {backend!r}: use 'threads' or 'gevent'")
    if not return_exceptions:
        for outcome in outcomes:
            if isinstance(outcome, _Failure):
                raise outcome.error
    return [o.error if isinstance(o, _Failure) else o for o in outcomes]


class _Failure:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


def _guarded(run: Any) -> Any:
    try:
        return run()
    except Exception as e:  # kept for its slot, raised after all calls finished
        return _Failure(e)


def _run_threads(runners: Sequence[Any], max_workers: int | None) -> list[Any]:
    workers = min(len(runners), max_workers or DEFAULT_MAX_WORKERS)
    if workers == 1:
        return [_guarded(r) for r in runners]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="klue-call") as pool:
        return list(pool.map(_guarded, runners))


def _run_greenlets(runners: Sequence[Any], max_workers: int | None) -> list[Any]:
    try:
        from gevent.pool import Pool
    except ImportError:
        raise RuntimeError("the gevent backend needs gevent: pip install 'klue-client-server[gevent]'") from None
    pool = Pool(max_workers or None)
    return list(pool.imap(_guarded, runners))
