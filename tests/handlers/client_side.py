"""Client-side hooks (x-decorate-request) and a plain Flask server that misbehaves on request."""
import collections
import json
import threading
import time

from flask import Flask, Response, request

sent = []
decorated = []


def add_token(send):
    decorated.append(send)

    def send_with_token(method, url, **kwargs):
        kwargs["headers"]["Authorization"] = "Bearer t0k3n"
        sent.append((method, url))
        return send(method, url, **kwargs)
    return send_with_token


def fault_app():
    """Endpoints of tests/specs/faults.yaml, counting hits per path."""
    app = Flask("faults")
    app.hits = collections.Counter()
    lock = threading.Lock()

    def hit():
        with lock:
            app.hits[request.path] += 1
            return app.hits[request.path]

    @app.route("/f/sleep", methods=["GET", "POST"])
    def sleep():
        n = hit()
        time.sleep(int(request.args["ms"]) / 1000)
        return {"hits": n}

    @app.route("/f/status/<int:code>", methods=["GET", "POST"])
    def status(code):
        n = hit()
        headers = {"Retry-After": request.args["retry_after"]} if "retry_after" in request.args else {}
        if code >= 300 and not (code == 503 and n >= 3 and "retry_after" in request.args):
            return Response(json.dumps({"error": f"status {code}"}), status=code, headers=headers, mimetype="application/json")
        return {"hits": n}

    @app.route("/f/bad/<kind>")
    def bad(kind):
        hit()
        if kind == "json":
            return Response("{not json", mimetype="application/json")
        if kind == "schema":
            return {"hits": "many"}
        return Response("plain text error", status=500, mimetype="text/plain")

    @app.route("/f/headers")
    def headers():
        hit()
        return dict(request.headers)

    return app
