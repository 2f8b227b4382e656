"""Tests of subprocesses, gunicorn and waitress, browsers, the network, the README's examples."""
