"""Tests of the schema engine: validators, messages, models."""
