"""The client side: callers generated from a spec's operations.

``namespace.ApiClient`` is ``api.client``; ``caller`` checks arguments and
decodes responses; ``transport`` sends with retries and timeouts;
``parallel.async_call`` runs calls concurrently.
"""
from .breaker import CircuitBreaker
from .caller import Call, OperationCaller
from .namespace import ApiClient
from .parallel import async_call
from .transport import RetryPolicy

__all__ = ["ApiClient", "Call", "CircuitBreaker", "OperationCaller", "RetryPolicy", "async_call"]
