from flask import Flask
from klue.exceptions import NotFound
from klue.swagger import ApiPool

SPEC = """
swagger: "2.0"
info: {title: public, version: "1.0"}
definitions:
  Error:
    type: object
    required: [type, raw]
    properties:
      type: {type: string}
      raw: {type: string}
paths:
  /things/{thing_id}:
    get:
      x-bind-server: __main__.get_thing
      parameters: [{in: path, name: thing_id, type: integer, required: true}]
      responses:
        200: {description: A thing., schema: {type: object}}
        default: {description: An error., schema: {$ref: "#/definitions/Error"}}
"""


def get_thing(thing_id):
    raise NotFound(f"no thing {thing_id}")


def my_error_formatter(e):
    return ApiPool.public.model.Error(type=type(e).__name__, raw=str(e))


app = Flask(__name__)
ApiPool.add("public", yaml_str=SPEC, error_callback=my_error_formatter)
ApiPool.public.spawn_api(app)

if __name__ == "__main__":
    client = app.test_client()
    for path in ("/things/7", "/things/seven"):
        answer = client.get(path)
        print(answer.status_code, answer.get_json())
