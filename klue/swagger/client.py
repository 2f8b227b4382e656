"""The seed's import path: ``from klue.swagger.client import async_call``."""
from ..client import Call, RetryPolicy, async_call

__all__ = ["async_call", "Call", "RetryPolicy"]
