import pickle

from klue.swagger import ApiPool

SPEC = """
swagger: "2.0"
info: {title: pets, version: "1.0"}
paths: {}
definitions:
  Pet:
    type: object
    required: [id, name]
    properties:
      id: {type: integer}
      name: {type: string}
      kind: {type: string, enum: [cat, dog]}
  Dog:
    allOf:
      - {$ref: "#/definitions/Pet"}
      - {type: object, properties: {good: {type: boolean}}}
"""

api = ApiPool.add("pets", yaml_str=SPEC)
Pet, Dog = api.model.Pet, api.model.Dog

rex = Pet(id=1, name="Rex")
rex.kind = "dog"
print(rex.name, rex["kind"], rex._as_dict())
print(api.model_to_json(Pet(id=3, name="Tom")))  # unset properties are left out
data = api.model_to_json(rex)
print(data)
same = api.json_to_model("Pet", data)     # validated, then built
print(same == rex, pickle.loads(pickle.dumps(rex)) == rex)
print(isinstance(Dog(id=2, name="Fido", good=True), Pet))
try:
    api.json_to_model("Pet", {"id": "one", "name": "Tom"})
except ValueError as e:                   # klue.exceptions.ArgumentError
    print(e)
try:
    Pet(id=4, nme="Kit")
except TypeError as e:                    # klue.exceptions.UnknownPropertyError
    print(str(e).split(";")[0])
