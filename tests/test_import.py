"""Importing klue must not patch the interpreter, start threads or touch the network."""
import json
import subprocess
import sys

PROBE = r"""
import json, queue, socket, ssl, sys, threading
before = (socket.socket, queue.SimpleQueue, ssl.SSLContext, threading.Thread, threading.active_count())
connect_calls = []
real_connect = socket.socket.connect
socket.socket.connect = lambda self, *a: connect_calls.append(a) or real_connect(self, *a)
import klue, klue.swagger, klue.server
from klue.swagger import ApiPool
after = (socket.socket, queue.SimpleQueue, ssl.SSLContext, threading.Thread, threading.active_count())
print(json.dumps({
    "same": [a is b for a, b in zip(before[:4], after[:4])],
    "threads": [before[4], after[4]],
    "gevent": sorted(m for m in sys.modules if m.split(".")[0] in ("gevent", "grequests", "eventlet")),
    "connects": len(connect_calls),
}))
"""


def test_import_patches_nothing_and_starts_nothing():
    out = subprocess.run([sys.executable, "-W", "error::DeprecationWarning", "-c", PROBE],
                         capture_output=True, text=True, timeout=60, check=True)
    result = json.loads(out.stdout)
    assert result["same"] == [True, True, True, True]
    assert result["threads"][0] == result["threads"][1]
    assert result["gevent"] == []
    assert result["connects"] == 0
    assert out.stderr == ""  # no warnings at import, DeprecationWarnings included
