from flask import Flask
from klue.swagger import ApiPool

SPEC = """
swagger: "2.0"
info: {title: hello, version: "1.0"}
basePath: /api
definitions:
  Greeting:
    type: object
    required: [text]
    properties:
      text: {type: string}
      shout: {type: boolean, default: false}
paths:
  /greet/{name}:
    post:
      x-bind-server: __main__.greet
      parameters:
        - {in: path, name: name, type: string, required: true, maxLength: 20}
        - {in: query, name: times, type: integer, minimum: 1, default: 1}
        - {in: body, name: greeting, required: true, schema: {$ref: "#/definitions/Greeting"}}
      responses:
        200:
          description: The greeting, repeated.
          schema: {$ref: "#/definitions/Greeting"}
"""

def greet(greeting, name, times):
    # greeting is a Greeting model; name and times come typed and validated
    text = " ".join([f"{greeting.text}, {name}!"] * times)
    return ApiPool.hello.model.Greeting(text=text.upper() if greeting.shout else text)

app = Flask(__name__)
ApiPool.add("hello", yaml_str=SPEC)
ApiPool.hello.spawn_api(app)

if __name__ == "__main__":
    client = app.test_client()
    print(client.post("/api/greet/Ann?times=2", json={"text": "Hi"}).get_json())
    print(client.post("/api/greet/Ann?times=0", json={"text": 5}).get_json()["detail"])
