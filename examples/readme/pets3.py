from flask import Flask
from klue.swagger import ApiPool

SPEC = """
openapi: 3.1.0
info: {title: pets, version: "3.0"}
servers: [{url: /api}]
components:
  schemas:
    Cat:
      type: object
      required: [kind, name]
      properties:
        kind: {const: cat}
        name: {type: string}
        lives: {type: integer, maximum: 9}
    Dog:
      type: object
      required: [kind, name]
      properties:
        kind: {const: dog}
        name: {type: string}
        owner: {type: [string, "null"]}
    Pet:
      oneOf: [{$ref: "#/components/schemas/Cat"}, {$ref: "#/components/schemas/Dog"}]
      discriminator: {propertyName: kind}
paths:
  /pets:
    post:
      operationId: __main__.add_pet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Pet"}
      responses:
        "201":
          description: The pet, as stored.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
"""

def add_pet(pet):
    print("handler got a", type(pet).__name__)
    return pet, 201

app = Flask(__name__)
ApiPool.add("pets", yaml_str=SPEC).spawn_api(app)

if __name__ == "__main__":
    client = app.test_client()
    print(client.post("/api/pets", json={"kind": "dog", "name": "Rex", "owner": "Ann"}).get_json())
    print(client.post("/api/pets", json={"kind": "cat", "name": "Tom", "lives": 10}).status_code)
