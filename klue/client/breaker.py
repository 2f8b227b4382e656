"""A circuit breaker per called host, so one dead dependency does not hold
every caller for its full timeout.

Closed: calls go through; after ``failures`` calls in a row fail (no answer,
or a 5xx), it opens. Open: calls fail at once with ``CircuitOpenError``,
nothing is sent. After ``reset_after`` seconds it is half-open: one trial
call goes through; success closes it, failure opens it again.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from ..exceptions import CircuitOpenError


@dataclass
class _HostState:
    failures: int = 0
    opened_at: float | None = None
    trial_running: bool = False


class CircuitBreaker:
    """``ApiPool.add(..., circuit_breaker=CircuitBreaker(failures=5, reset_after=10.0))``;
    ``circuit_breaker=None`` turns it off."""

    def __init__(self, failures: int = 5, reset_after: float = 10.0) -> None:
        if not isinstance(failures, int) or failures < 1:
            raise ValueError(f"failures must be a whole number of at least 1, not {failures!r}")
        if not isinstance(reset_after, (int, float)) or reset_after <= 0:
            raise ValueError(f"reset_after must be a number of seconds above 0, not {reset_after!r}")
        self.failures = failures
        self.reset_after = float(reset_after)
        self._hosts: dict[str, _HostState] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CircuitBreaker(failures={self.failures}, reset_after={self.reset_after})"

    def before(self, host: str, method: str, url: str) -> None:
        """Raise ``CircuitOpenError`` if a call to ``host`` must not be sent now."""
        with self._lock:
            state = self._hosts.get(host)
            if state is None or state.opened_at is None:
                return
            waited = time.monotonic() - state.opened_at
            if waited >= self.reset_after and not state.trial_running:
                state.trial_running = True  # half-open: this call is the trial
                return
        wait = max(0.0, self.reset_after - waited)
        raise CircuitOpenError(
            f"{method} {url}: not sent: {host} failed {state.failures} calls in a row; "
            + (f"next try in {wait:.1f} s" if wait else "a trial call is running"),
            method=method,
            url=url,
            attempts=0,
        )

    def record(self, host: str, failed: bool) -> None:
        with self._lock:
            state = self._hosts.setdefault(host, _HostState())
            state.trial_running = False
            if not failed:
                state.failures, state.opened_at = 0, None
                return
            state.failures += 1
            if state.failures >= self.failures:
                state.opened_at = time.monotonic()

    def is_open(self, host: str) -> bool:
        state = self._hosts.get(host)
        return bool(state and state.opened_at is not None)
