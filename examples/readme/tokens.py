import threading
import time

import jwt
from flask import Flask, request
from werkzeug.serving import make_server

from klue import get_principal
from klue.security import ClientCredentials, jwt_bearer
from klue.swagger import ApiPool

SPEC = """
openapi: 3.0.3
info: {title: reports, version: "1.0"}
components:
  securitySchemes:
    oauth:
      type: oauth2
      flows: {clientCredentials: {tokenUrl: /token, scopes: {reports:read: Read reports.}}}
security: [{oauth: [reports:read]}]
paths:
  /reports/latest:
    get:
      x-bind-server: __main__.latest
      x-bind-client: latest
      responses:
        "200": {description: The report., content: {application/json: {schema: {type: object}}}}
"""
SECRET = "a-long-random-secret-known-to-the-issuer-and-the-api"

def latest():
    return {"for": get_principal()["sub"], "total": 42}

app = Flask(__name__)

@app.post("/token")  # a stand-in for your identity provider's token endpoint
def token():
    client = request.authorization
    assert client and (client.username, client.password) == ("reporting", "s3cret")
    claims = {"sub": client.username, "scope": request.form["scope"], "aud": "reports", "exp": int(time.time()) + 300}
    return {"access_token": jwt.encode(claims, SECRET, algorithm="HS256"), "token_type": "Bearer", "expires_in": 300}

verify = jwt_bearer(SECRET, algorithms=["HS256"], audience="reports")
ApiPool.add("reports", yaml_str=SPEC).spawn_api(app, security={"oauth": verify})
server = make_server("127.0.0.1", 0, app, threaded=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_port}"

grant = ClientCredentials(f"{url}/token", "reporting", "s3cret", scopes=["reports:read"])
reports = ApiPool.add("reports", yaml_str=SPEC, host=url, credentials={"oauth": grant}).client
print(reports.latest().call(), reports.latest().call())
print("token requests:", grant.fetches)
server.shutdown()
