"""Reading the field errors out of a declared error body's text.

The petstore's and behaviours' operations declare ``Error{error: string, ...}``
for their errors, so klue fills that (``klue.server.errors``) instead of the
problem body's ``errors`` list: each bad field is then named in the detail,
``query parameter 'limit': ...; body field 'tags[0].label': ...``.
"""
import re

_NAMED = re.compile(r"(?:^|; )(path|query|header|cookie|formData|body) (?:parameter|field) '(.*?)': ")
_UNNAMED = re.compile(r"(?:^|; )(body): ")


def named_fields(detail):
    """``{(location, name)}`` of the field errors joined in ``detail``."""
    return {*_NAMED.findall(detail), *((location, "") for location in _UNNAMED.findall(detail))}


def fields_of(body):
    """``{(location, name)}``: from a problem body's ``errors``, or from a declared ``Error``'s ``error`` text."""
    if "type" in body:  # the problem body
        return {(e["in"], e["name"]) for e in body.get("errors", ())}
    return named_fields(body["error"])
