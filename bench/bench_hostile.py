"""Hostile values in process: what a request built to hurt costs the server.

Each case is a request through the spawned app (Flask's test client), timed
over many repetitions; the figure is the median per request. The cases are
issue 13's: a value built to make ``^(a+)+$`` backtrack (30 and 10,000
characters; jsonschema's explanation step took 10 s to 55 s on the 30), a
backreference pattern under its step limit, a 9 MB string against
``maxLength: 64`` and 500,000 keys against ``additionalProperties: false``
(with the size of the error body).

    python bench/bench_hostile.py [--smoke] [--rounds N]
"""
from __future__ import annotations

import json
import logging
import sys
import time

import _common as c

TARGET_MS = 5.0  # each ReDoS case, per request
SPEC = """
swagger: "2.0"
info: {title: hostile, version: "1"}
paths:
  /search:
    get:
      x-bind-server: bench_hostile.search
      parameters:
        - {in: query, name: q, type: string, pattern: '^(a+)+$'}
        - {in: query, name: twice, type: string, pattern: '^(a|a)*\\\\1$'}
      responses: {200: {description: ok, schema: {type: object}}}
  /things:
    post:
      x-bind-server: bench_hostile.search
      parameters:
        - in: body
          name: body
          schema: {type: object, additionalProperties: false, properties: {name: {type: string, maxLength: 64}}}
      responses: {200: {description: ok, schema: {type: object}}}
"""


def search(**kwargs: object) -> dict:
    return {}


def cases() -> dict[str, tuple[str, str, dict]]:
    return {
        "^(a+)+$, 30 characters": ("GET", "/search", {"query_string": {"q": "a" * 30 + "!"}}),
        "^(a+)+$, 10,000 characters": ("GET", "/search", {"query_string": {"q": "a" * 10_000 + "!"}}),
        "^(a|a)*\\1$, 10,000 characters": ("GET", "/search", {"query_string": {"twice": "a" * 10_000 + "!"}}),
        "9 MB string, maxLength 64": ("POST", "/things", {"data": json.dumps({"name": "a" * 9_000_000}),
                                                          "content_type": "application/json"}),
        "500,000 unexpected keys": ("POST", "/things", {"data": json.dumps({f"k{i}": i for i in range(500_000)}),
                                                        "content_type": "application/json"}),
    }


def main() -> int:
    args = c.parser(__doc__).parse_args()
    rounds = c.rounds(args)
    logging.getLogger("klue").setLevel(logging.ERROR)
    from flask import Flask

    from klue.swagger import ApiPool

    app = Flask("hostile")
    ApiPool.add("hostile", yaml_str=SPEC).spawn_api(app)
    client = app.test_client()
    c.print_environment("bench_hostile: hostile values in process", [
        ["method", f"{rounds} round(s); Flask test client; median per request"]])
    verdicts, rows = c.Verdicts(), []
    for name, (method, path, kwargs) in cases().items():
        repeats = 3 if args.smoke or "MB" in name or "keys" in name else 200
        per_round, status, size = [], 0, 0
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(repeats):
                response = client.open(path, method=method, **kwargs)
            per_round.append((time.perf_counter() - started) / repeats * 1000)
            status, size = response.status_code, len(response.data)
        ms = c.median(per_round)
        rows.append([name, status, f"{ms:.2f}", f"{size:,}"])
        if name.startswith("^"):
            verdicts.check(f"{name}: 400 in under {TARGET_MS:g} ms", status == 400 and ms < TARGET_MS, f"{ms:.2f} ms")
    c.print_table("hostile values", ["case", "status", "ms per request", "error body bytes"], rows)
    return c.finish(verdicts, args)


if __name__ == "__main__":
    sys.exit(main())
