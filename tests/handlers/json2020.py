"""Handlers of tests/spec/test_json_schema_2020.py's spec."""

#: What the next call answers instead of its body (to send an invalid response).
answer: list = []


def echo(body):
    return answer.pop() if answer else body


def no_responses():
    return {"anything": "goes"}, 202
