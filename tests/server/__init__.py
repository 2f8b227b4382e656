"""Tests of the server: parsing, validation, responses, security, docs and mock."""
