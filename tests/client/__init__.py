"""Tests of the client: callers, transport, retries, breaker, credentials."""
