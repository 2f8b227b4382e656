# At the project's root: plain `pytest` then puts this folder on sys.path
# (so `handlers` imports) and loads klue's fixtures.
pytest_plugins = ["klue.testing"]
