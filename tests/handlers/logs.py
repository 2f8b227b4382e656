"""Handlers of tests/test_hostile_logs.py."""
from klue.swagger import get_call_path


def call_path(**_kwargs):
    return {"call_path": get_call_path()}
