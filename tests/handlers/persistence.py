"""x-persist targets for the tests."""

calls: list = []


class PetStore:
    @staticmethod
    def load_from_db(*args, **kwargs):
        calls.append(("load", args, kwargs))
        return ("loaded", args, kwargs)

    @staticmethod
    def save_to_db(obj, *args, **kwargs):
        calls.append(("save", obj, args, kwargs))
        return "saved"


class NoSave:
    @staticmethod
    def load_from_db(*args, **kwargs):
        return None
