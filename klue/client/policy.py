"""How a client call behaves, as data: its retry policy, timeout and size limits.

Kept apart from ``transport`` (which imports requests) so that loading a spec
and configuring its client cost nothing until a call is made.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from requests import Response

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
DEFAULT_TIMEOUT = 10.0
#: A response body larger than this (decompressed) is refused (``ApiPool.add(max_response_size=...)``).
DEFAULT_MAX_RESPONSE_SIZE = 10 * 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How a client retries. ``backoff`` is the first wait's upper bound, doubled each attempt."""

    max_attempts: int = 3
    backoff: float = 0.1
    max_backoff: float = 2.0
    max_retry_after: float = 10.0

    def wait(self, attempt: int, response: Response | None = None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``; None when the server
        asked (``Retry-After``) for a longer wait than ``max_retry_after``."""
        retry_after = _retry_after(response) if response is not None else None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (attempt - 1)))


def _retry_after(response: Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
