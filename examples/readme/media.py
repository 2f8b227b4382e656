from flask import Flask, request
from klue.swagger import ApiPool

SPEC = """
openapi: 3.0.3
info: {title: files, version: "1"}
paths:
  /report:
    get:
      x-bind-server: __main__.report
      responses:
        200:
          description: The report, as JSON or as CSV.
          content:
            application/json: {schema: {type: array, items: {type: object}}}
            text/csv: {schema: {type: string}}
  /logo:
    get:
      x-bind-server: __main__.logo
      responses:
        200: {description: The logo., content: {image/png: {schema: {type: string, format: binary}}}}
"""

ROWS = [{"name": "Rex", "kind": "dog"}, {"name": "Tom", "kind": "cat"}]


def report():
    if request.accept_mimetypes.best == "text/csv":  # the handler makes what was asked for
        return "".join(f"{row['name']},{row['kind']}\n" for row in ROWS)
    return ROWS


def logo():
    return b"\x89PNG\r\n\x1a\n"


app = Flask(__name__)
ApiPool.add("files", yaml_str=SPEC)
ApiPool.files.spawn_api(app)

if __name__ == "__main__":
    client = app.test_client()
    print(client.get("/report").get_json())
    csv = client.get("/report", headers={"Accept": "text/csv"})
    print(csv.content_type, repr(csv.get_data(as_text=True)))
    print(client.get("/report", headers={"Accept": "text/html"}).status_code)
    print(client.get("/logo").content_type, client.get("/logo").data[:4])
