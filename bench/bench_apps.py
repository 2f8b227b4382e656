"""The apps under test, as factories (gunicorn runs ``bench_apps:klue_app()``).

* ``klue_app()``: bench.yaml spawned by klue (validated requests and responses).
* ``plain_app()``: plain Flask routes doing the same work, no validation.
* ``plain_jsonschema_app()``: the same routes, checking the POST body and both
  responses with jsonschema ``Draft4Validator`` instances built once, at start.
* ``connexion_app()``: connexion 3 ``FlaskApp`` on bench.yaml (an ASGI app;
  connexion is only in the ``bench`` extra).
"""
from __future__ import annotations

from pathlib import Path

import yaml
from flask import Flask, jsonify, request

import bench_handlers as handlers

SPEC_PATH = Path(__file__).resolve().parent / "bench.yaml"


def klue_app(docs: bool = True) -> Flask:
    from klue.swagger import ApiPool

    app = Flask("bench_klue")
    ApiPool.add(handlers.API_NAME, yaml_path=str(SPEC_PATH))
    ApiPool.get(handlers.API_NAME).spawn_api(app, docs=docs)
    return app


def _definitions() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text())["definitions"]


def plain_app(validate: bool = False) -> Flask:
    app = Flask("bench_plain_jsonschema" if validate else "bench_plain")
    check_order = check_item = check_receipt = None
    if validate:
        import jsonschema

        definitions = _definitions()

        def compiled(name: str):
            schema = {"definitions": definitions, "$ref": f"#/definitions/{name}"}
            validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
            return validator.validate

        check_order, check_item, check_receipt = compiled("Order"), compiled("Item"), compiled("Receipt")
        invalid = jsonschema.ValidationError

    @app.get("/v1/items/<int:item_id>")
    def get_item(item_id: int):
        data = handlers.item_data(item_id)
        if check_item:
            check_item(data)
        return jsonify(data)

    @app.post("/v1/orders")
    def create_order():
        body = request.get_json()
        if check_order:
            try:
                check_order(body)
            except invalid as e:
                return jsonify({"detail": e.message}), 400
        data = handlers.receipt_data(body["reference"], body["lines"], body["currency"])
        if check_receipt:
            check_receipt(data)
        return jsonify(data), 201

    @app.get("/v1/slow")
    def slow():
        import time

        time.sleep(handlers.SLOW_SECONDS)
        return jsonify(handlers.item_data(1))

    return app


def plain_jsonschema_app() -> Flask:
    return plain_app(validate=True)


def connexion_app():
    import connexion
    from connexion.resolver import Resolver

    app = connexion.FlaskApp("bench_connexion", specification_dir=str(SPEC_PATH.parent))
    app.add_api(SPEC_PATH.name, resolver=Resolver(function_resolver=handlers.CONNEXION.__getitem__))
    return app


#: For ``bench/serve.py``: app name -> factory (gunicorn calls ``<name>_app()``).
FACTORIES = {"klue": klue_app, "plain": plain_app, "plain_jsonschema": plain_jsonschema_app}


def order_body(lines: int = 20) -> dict:
    """The POST body: 10 properties, a nested customer (with its address), ``lines`` order lines."""
    return {
        "reference": "ORD-2026-000042",
        "customer": {"name": "Ann Example", "email": "ann@example.com",
                     "address": {"street": "1 Main Street", "city": "Springfield", "zip": "12345", "country": "US"}},
        "lines": [{"sku": f"ABC-{1000 + i}", "quantity": 1 + i % 5, "unit_price": 2.5 + i, "note": "gift wrap" if i % 4 == 0 else "x"}
                  for i in range(lines)],
        "currency": "EUR",
        "priority": 3,
        "gift": False,
        "note": "leave at the door",
        "placed_at": "2026-11-22T10:15:00Z",
        "tags": ["web", "returning"],
        "coupon": "WINTER26",
    }
