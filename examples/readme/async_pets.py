import asyncio

from flask import Flask
from klue.exceptions import NotFound
from klue.swagger import ApiPool, get_call_id

SPEC = """
swagger: "2.0"
info: {title: pets, version: "1"}
paths:
  /pets/{pet_id}:
    get:
      x-bind-server: __main__.get_pet
      parameters: [{in: path, name: pet_id, type: integer, required: true, minimum: 0}]
      responses:
        200: {description: A pet., schema: {type: object}}
"""


async def get_pet(pet_id):
    await asyncio.sleep(0.01)  # an async database driver, an HTTP call...
    if pet_id == 0:
        raise NotFound("no such pet")
    return {"id": pet_id, "name": "Rex", "call_id": get_call_id()}


app = Flask(__name__)
ApiPool.add("pets", yaml_str=SPEC)
ApiPool.pets.spawn_api(app)

if __name__ == "__main__":
    client = app.test_client()
    print(client.get("/pets/7", headers={"KlueCallerID": "action-1"}).get_json())
    print(client.get("/pets/0").status_code, client.get("/pets/-1").status_code)
