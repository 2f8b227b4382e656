"""Handlers of tests/specs/zoo.openapi31.yaml, bound by their dotted operationIds."""

received: dict = {}


def add_animal(animal):
    received["add_animal"] = animal
    return animal, 201


def find_animals(filter=None, session=None):
    received["find_animals"] = {"filter": filter, "session": session}
    return {"filter": filter, "session": session}


def hire(keeper):
    received["hire"] = keeper
    keeper.id = 7
    return keeper, 201


def store_photo(image, name):
    received["store_photo"] = (image, name)
    return {"name": name, "size": len(image)}
