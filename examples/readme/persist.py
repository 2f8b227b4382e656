from klue.swagger import ApiPool

SPEC = """
swagger: "2.0"
info: {title: store, version: "1.0"}
paths: {}
definitions:
  Foo:
    type: object
    x-persist: __main__.PersistentFoo
    properties:
      id: {type: string}
      size: {type: integer}
"""

STORAGE = {}


class PersistentFoo:
    @staticmethod
    def load_from_db(*args, **kwargs):
        return STORAGE[kwargs["id"]]  # load object(s) from storage

    @staticmethod
    def save_to_db(obj, *args, **kwargs):
        STORAGE[obj.id] = obj  # put obj into storage


api = ApiPool.add("store", yaml_str=SPEC)
api.model.Foo(id="12345", size=3).save_to_db()  # PersistentFoo.save_to_db(foo)
foo = api.model.Foo.load_from_db(id="12345")  # PersistentFoo.load_from_db(id="12345")
print(type(foo).__name__, foo.size, list(STORAGE))
