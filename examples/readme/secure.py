import threading

from flask import Flask
from werkzeug.serving import make_server

from klue import get_principal
from klue.exceptions import ClientError, RemoteError
from klue.security import api_keys
from klue.swagger import ApiPool

SPEC = """
openapi: 3.0.3
info: {title: notes, version: "1.0"}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-API-Key}
security: [{key: [notes:read]}]
paths:
  /notes:
    get:
      x-bind-server: __main__.list_notes
      x-bind-client: list_notes
      responses:
        "200": {description: The notes., content: {application/json: {schema: {type: array, items: {type: string}}}}}
    post:
      x-bind-server: __main__.add_note
      x-bind-client: add_note
      security: [{key: [notes:write]}]
      requestBody: {required: true, content: {application/json: {schema: {type: string}}}}
      responses:
        "201": {description: Added., content: {application/json: {schema: {type: string}}}}
  /health:
    get:
      x-bind-server: __main__.health
      x-bind-client: health
      security: []
      responses:
        "200": {description: Up., content: {application/json: {schema: {type: string}}}}
"""
NOTES = []
KEYS = {"k-reader": {"name": "ann", "scopes": ["notes:read"]},
        "k-writer": {"name": "bo", "scopes": ["notes:read", "notes:write"]}}

def list_notes():
    return NOTES

def add_note(text):
    NOTES.append(f"{text} (by {get_principal()['name']})")
    return NOTES[-1], 201

def health():
    return "ok"

app = Flask(__name__)
ApiPool.add("notes", yaml_str=SPEC).spawn_api(app, security={"key": api_keys(KEYS)})
server = make_server("127.0.0.1", 0, app, threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_port}"

writer = ApiPool.add("notes", yaml_str=SPEC, host=url, credentials={"key": "k-writer"}).client
print(writer.add_note("buy milk").call())
reader = ApiPool.add("notes", yaml_str=SPEC, host=url, credentials={"key": "k-reader"}).client
print(reader.list_notes().call())
try:
    reader.add_note("sell milk").call()
except RemoteError as e:
    print(e.status_code, e.body["detail"])
anonymous = ApiPool.add("notes", yaml_str=SPEC, host=url).client
print(anonymous.health().call())
try:
    anonymous.list_notes()
except ClientError as e:
    print(e)
server.shutdown()
