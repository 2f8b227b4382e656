"""The schema engine: what every spec's schemas become once loaded.

Schemas here are JSON Schema draft 4 whose refs are ``#/definitions/<Name>``,
whatever the spec's version (``klue.spec`` normalises them). ``view`` answers
what a schema says (its ref, its type); ``validation`` compiles validators
(jsonschema-rs) and fills defaults; ``messages`` words their errors;
``codec`` converts between JSON and Python (models, dates, user formats);
``formats`` holds the string formats all of them share.
"""
