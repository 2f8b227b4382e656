import threading

from flask import Flask
from werkzeug.serving import make_server

from klue.exceptions import ArgumentError
from klue.swagger import ApiPool
from klue.swagger.client import async_call

SPEC = """
swagger: "2.0"
info: {title: hello, version: "1.0"}
paths:
  /greet/{name}:
    get:
      x-bind-server: __main__.greet
      x-bind-client: greet
      parameters:
        - {in: path, name: name, type: string, required: true, maxLength: 20}
      responses:
        200:
          description: A greeting.
          schema: {$ref: "#/definitions/Greeting"}
definitions:
  Greeting:
    type: object
    properties:
      text: {type: string}
"""

def greet(name):
    return {"text": f"Hello, {name}!"}

# The service, on a free port of 127.0.0.1
app = Flask(__name__)
ApiPool.add("hello", yaml_str=SPEC).spawn_api(app)
server = make_server("127.0.0.1", 0, app, threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()

# Its callers: the same spec, pointed at where it runs
ApiPool.add("hello", yaml_str=SPEC, host="127.0.0.1", port=server.server_port, proto="http")
print(ApiPool.hello.client.greet(name="Ann").call())
print([g.text for g in async_call(ApiPool.hello.client.greet(name="Bo"), ApiPool.hello.client.greet(name="Cy"))])
try:
    ApiPool.hello.client.greet(name="x" * 21)
except ArgumentError as e:
    print(e)
server.shutdown()
