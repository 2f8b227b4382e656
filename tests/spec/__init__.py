"""Tests of loading specs: every version, every problem with its pointer."""
