from flask import Flask
from klue.swagger import ApiPool

B_SPEC = """
swagger: "2.0"
info: {title: b, version: "1.0"}
paths:
  /things/{thing_id}:
    get:
      x-bind-server: __main__.get_thing
      x-bind-client: get_thing
      parameters: [{in: path, name: thing_id, type: integer, required: true}]
      responses:
        200:
          description: A thing.
          schema: {type: object, properties: {id: {type: integer}, name: {type: string}}}
"""


def get_thing(thing_id):
    return {"id": thing_id, "name": f"thing {thing_id}"}


b_app = Flask("b")
ApiPool.add("b", yaml_str=B_SPEC).spawn_api(b_app)  # B, served by this process
ApiPool.add("b", yaml_str=B_SPEC, local=b_app)  # its client, calling into b_app
print(ApiPool.b.client.get_thing(thing_id=1).call())  # runs B's handler, no socket
