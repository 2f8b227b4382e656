from flask import Flask
from klue.exceptions import NotFound
from klue.swagger import ApiPool

SPEC = """
swagger: "2.0"
info: {title: shop, version: "1"}
basePath: /v1
definitions:
  Error:
    type: object
    required: [code, message]
    properties:
      code: {type: integer}
      message: {type: string}
paths:
  /items/{item_id}:
    get:
      x-bind-server: __main__.get_item
      parameters:
        - {in: path, name: item_id, type: integer, required: true}
      responses:
        200: {description: An item., schema: {type: object}}
        default: {description: An error., schema: {$ref: "#/definitions/Error"}}
"""


def get_item(item_id):
    raise NotFound(f"no item {item_id}")


app = Flask(__name__)
ApiPool.add("shop", yaml_str=SPEC)
ApiPool.shop.spawn_api(app)

if __name__ == "__main__":
    client = app.test_client()
    print(client.get("/v1/items/7").get_json())
    print(client.get("/v1/items/seven").get_json())
    print(client.get("/v1/nowhere").get_json()["title"])  # no operation: the problem body
