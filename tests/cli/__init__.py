"""Tests of the klue command."""
