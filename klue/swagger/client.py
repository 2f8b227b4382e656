"""The seed's import path: ``from klue.swagger.client import async_call``."""

from ..client import Call, RetryPolicy, async_call

__all__ = ["Call", "RetryPolicy", "async_call"]
