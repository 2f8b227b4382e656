"""Soak test: the demo petstore under gunicorn or ``klue serve``, a mixed load for a while, then checks.

    python bench/soak.py                  # 60 s, 4 threads, gunicorn
    python bench/soak.py --server waitress  # klue serve in one process (waitress)
    python bench/soak.py --seconds 600 --threads 8
    python bench/soak.py --smoke          # 5 s: checks the script still runs

Runs ``python -m gunicorn -w 2 -b 127.0.0.1:<free port> "klue:make_app('specs/petstore.yaml')"``
(or ``klue serve specs/petstore.yaml --port <free port>``, with ``--server waitress``)
with ``PETSTORE_DB`` in a temporary directory, and sends from a few threads a
mix of valid and invalid requests: creates, gets (existing and missing pets),
lists with filters, deletes, malformed JSON, wrong types, unknown fields,
wrong media type, out-of-range parameters, unknown paths and methods. Each
request kind has one expected status. At the end it reports the requests sent,
the count by status, and these checks (exit status 1 when one fails):

* no 5xx, and no request failed at the transport level;
* every answer has the status its kind expects;
* no lost write: every pet whose create returned 201 and that was not deleted
  reads back (``GET /v1/pets/{id}``) with the content the create returned,
  and every deleted pet is gone;
* no gunicorn worker died or was replaced;
* the resident memory (VmRSS) of each worker grew by less than
  ``--max-rss-growth-mb`` between the end of the warm-up and the end of the load.

Traffic goes to 127.0.0.1 only; gunicorn is always stopped, in a finally block.
Not run in CI (not a test); needs gunicorn (the ``serve`` extra).
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import datetime as dt
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
KINDS = ("cat", "dog", "bird", "fish")
TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


# -- gunicorn and its workers -----------------------------------------------------------

DEMO_KEY = os.environ.get("PETSTORE_API_KEY", "demo-key")


def start_gunicorn(port: int, workers: int, db_path: str, log_path: str, server: str = "gunicorn") -> subprocess.Popen:
    env = dict(os.environ, PETSTORE_DB=db_path)
    if server == "waitress":
        command = [sys.executable, "-m", "klue.cli", "serve", "specs/petstore.yaml", "--port", str(port)]
    else:
        command = [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"{LOOPBACK}:{port}",
                   "klue:make_app('specs/petstore.yaml')"]
    log = open(log_path, "wb")
    try:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # its own process group: workers are stopped with it
    finally:
        log.close()


def stop_gunicorn(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def children(pid: int) -> list[int]:
    try:
        import psutil  # optional
    except ImportError:
        psutil = None
    if psutil is not None:
        with contextlib.suppress(psutil.Error):
            return sorted(c.pid for c in psutil.Process(pid).children())
    found: set[int] = set()
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/task/{task}/children") as f:
                found.update(int(p) for p in f.read().split())
    return sorted(found)


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def wait_until_serving(proc: subprocess.Popen, base: str, workers: int, log_path: str, timeout: float = 30) -> list[int]:
    """The pids that serve: gunicorn's ``workers`` children, or the one process (``workers`` 0)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with status {proc.returncode}:\n{Path(log_path).read_text()[-3000:]}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{base}/ping", timeout=1).status_code == 200:
                pids = children(proc.pid) if workers else [proc.pid]
                if len(pids) == max(workers, 1):
                    return pids
        time.sleep(0.1)
    raise SystemExit(f"gunicorn did not serve within {timeout:g} s:\n{Path(log_path).read_text()[-3000:]}")


# -- the load ---------------------------------------------------------------------------

class Ledger:
    """What the load did and saw, shared by the threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: collections.Counter = collections.Counter()
        self.by_kind: collections.Counter = collections.Counter()
        self.unexpected: list[str] = []
        self.transport_errors: list[str] = []
        self.server_errors: list[str] = []
        self.created: dict[int, dict] = {}  # id -> the body the 201 returned, until deleted
        self.deleted: set[int] = set()
        self.content_types_204: collections.Counter = collections.Counter()
        self.latencies: list[float] = []

    def record(self, kind: str, expected: int, response: requests.Response | None, error: str | None,
               elapsed: float) -> None:
        with self.lock:
            self.by_kind[kind] += 1
            if response is None:
                self.transport_errors.append(f"{kind}: {error}")
                self.statuses["transport error"] += 1
                return
            self.latencies.append(elapsed)
            status = response.status_code
            self.statuses[status] += 1
            if status >= 500:
                self.server_errors.append(f"{kind} -> {status}: {response.text[:200]}")
            if status != expected:
                self.unexpected.append(f"{kind}: expected {expected}, got {status}: {response.text[:200]}")
            if status == 204 and "Content-Type" in response.headers:
                self.content_types_204[response.headers["Content-Type"]] += 1


def new_pet(rng: random.Random) -> dict:
    pet = {"name": "".join(rng.choice("abcdefghij ÄÖü犬") for _ in range(rng.randint(1, 20)))}
    if rng.random() < 0.8:
        pet["kind"] = rng.choice(KINDS)
    if rng.random() < 0.5:
        pet["born"] = (dt.date(2000, 1, 1) + dt.timedelta(days=rng.randint(0, 9000))).isoformat()
    return pet


def worker(index: int, base: str, deadline: float, ledger: Ledger) -> None:
    rng = random.Random(index)
    session = requests.Session()
    session.headers["X-API-Key"] = DEMO_KEY  # the demo's writes need it (examples/petstore.py)
    mine: list[int] = []  # pets this thread created and has not deleted: no other thread deletes them
    api = f"{base}/v1"

    def send(kind: str, expected: int, method: str, url: str, **kwargs) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=TIMEOUT, **kwargs)
        except requests.RequestException as e:
            ledger.record(kind, expected, None, f"{type(e).__name__}: {e}", 0.0)
            return None
        ledger.record(kind, expected, response, None, time.perf_counter() - started)
        return response

    actions = [
        ("create", 30), ("get", 15), ("get missing", 5), ("list", 10), ("list bad limit", 3), ("delete", 8),
        ("delete missing", 3), ("malformed json", 5), ("wrong types", 5), ("unknown field", 3),
        ("wrong media type", 3), ("bad path id", 3), ("unknown path", 3), ("wrong method", 2),
    ]
    names, weights = zip(*actions)
    try:
        while time.monotonic() < deadline:
            kind = rng.choices(names, weights)[0]
            if kind == "create":
                body = new_pet(rng)
                r = send(kind, 201, "POST", f"{api}/pets", json=body)
                if r is not None and r.status_code == 201:
                    out = r.json()
                    with ledger.lock:
                        ledger.created[out["id"]] = out
                    mine.append(out["id"])
                    if {k: out.get(k) for k in body} != body:
                        with ledger.lock:
                            ledger.unexpected.append(f"create: sent {body}, got back {out}")
            elif kind == "get" and mine:
                pet_id = rng.choice(mine)
                r = send(kind, 200, "GET", f"{api}/pets/{pet_id}")
                if r is not None and r.status_code == 200 and r.json() != ledger.created[pet_id]:
                    with ledger.lock:
                        ledger.unexpected.append(f"get {pet_id}: {r.json()} != created {ledger.created[pet_id]}")
            elif kind == "get missing":
                send(kind, 404, "GET", f"{api}/pets/{rng.randint(10**9, 2 * 10**9)}")
            elif kind == "list":
                params = {"limit": rng.randint(1, 100)}
                if rng.random() < 0.7:
                    params["kind"] = rng.choice(KINDS)
                r = send(kind, 200, "GET", f"{api}/pets", params=params)
                if r is not None and r.status_code == 200:
                    pets = r.json()
                    bad = len(pets) > params["limit"] or any(
                        "kind" in params and p.get("kind") != params["kind"] for p in pets)
                    if bad:
                        with ledger.lock:
                            ledger.unexpected.append(f"list {params}: filter not applied: {pets[:3]}...")
            elif kind == "list bad limit":
                send(kind, 400, "GET", f"{api}/pets", params={"limit": rng.choice([0, 101, -5, "ten", 1.5])})
            elif kind == "delete" and mine:
                pet_id = mine.pop(rng.randrange(len(mine)))
                r = send(kind, 204, "DELETE", f"{api}/pets/{pet_id}")
                if r is not None and r.status_code == 204:
                    with ledger.lock:
                        ledger.created.pop(pet_id, None)
                        ledger.deleted.add(pet_id)
                elif r is not None and r.status_code != 204:
                    mine.append(pet_id)  # still there as far as we know; the final check reads it
            elif kind == "delete missing":
                send(kind, 404, "DELETE", f"{api}/pets/{rng.randint(10**9, 2 * 10**9)}")
            elif kind == "malformed json":
                send(kind, 400, "POST", f"{api}/pets", data=rng.choice(['{"name": "x"', "{name: x}", "[", "\xff\xfe"]),
                     headers={"Content-Type": "application/json"})
            elif kind == "wrong types":
                body = rng.choice([{"name": 5}, {"name": "x", "kind": "lizard"}, {"name": "x", "born": "not-a-date"},
                                   {"name": ""}, {"name": "x" * 65}, {}, [], {"name": None}, "pet"])
                send(kind, 400, "POST", f"{api}/pets", json=body)
            elif kind == "unknown field":
                send(kind, 400, "POST", f"{api}/pets", json={"name": "x", "colour": "red"})
            elif kind == "wrong media type":
                send(kind, 415, "POST", f"{api}/pets", data="name=x", headers={"Content-Type": "text/plain"})
            elif kind == "bad path id":
                send(kind, 400, "GET", f"{api}/pets/{rng.choice(['abc', '1.5', '-', '%00'])}")  # not an integer: 400
            elif kind == "unknown path":
                send(kind, 404, "GET", f"{base}{rng.choice(['/v1/nothing', '/v2/pets', '/', '/v1/pets/1/2'])}")
            elif kind == "wrong method":
                send(kind, 405, rng.choice(["PUT", "PATCH"]), f"{api}/pets")
    finally:
        session.close()


# -- checks ------------------------------------------------------------------------------

def verify_writes(base: str, ledger: Ledger) -> tuple[list[str], list[str]]:
    lost, resurrected = [], []
    with requests.Session() as session:
        for pet_id, body in sorted(ledger.created.items()):
            r = session.get(f"{base}/v1/pets/{pet_id}", timeout=TIMEOUT)
            if r.status_code != 200 or r.json() != body:
                lost.append(f"pet {pet_id}: created as {body}, now {r.status_code} {r.text[:200]}")
        for pet_id in sorted(ledger.deleted):
            r = session.get(f"{base}/v1/pets/{pet_id}", timeout=TIMEOUT)
            if r.status_code != 404:
                resurrected.append(f"pet {pet_id}: deleted, now {r.status_code} {r.text[:200]}")
    return lost, resurrected


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Soak the demo petstore under gunicorn on 127.0.0.1.")
    p.add_argument("--seconds", type=float, default=60.0, help="how long the load runs (default 60)")
    p.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    p.add_argument("--smoke", action="store_true", help="a 5-second run: checks the script still runs")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    p.add_argument("--server", choices=("gunicorn", "waitress"), default="gunicorn",
                   help="gunicorn with make_app (default), or klue serve in one process (waitress)")
    p.add_argument("--max-rss-growth-mb", type=float, default=20.0,
                   help="largest VmRSS growth of a worker from the end of warm-up to the end (default 20 MB)")
    args = p.parse_args(argv)
    seconds = 5.0 if args.smoke else args.seconds
    if seconds <= 0 or args.threads < 1 or args.workers < 1:
        p.error("--seconds, --threads and --workers must be positive")

    tmp = tempfile.mkdtemp(prefix="klue-soak-")
    db_path, log_path = os.path.join(tmp, "petstore.sqlite3"), os.path.join(tmp, "gunicorn.log")
    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    proc = start_gunicorn(port, args.workers, db_path, log_path, args.server)
    one_process = args.server == "waitress"
    try:
        workers = wait_until_serving(proc, base, 0 if one_process else args.workers, log_path)
        rss_boot = {pid: rss_kb(pid) for pid in workers}

        warm = Ledger()  # a short warm-up: first requests compile and cache; not counted
        worker(10_000, base, time.monotonic() + min(2.0, seconds / 2), warm)
        rss_start = {pid: rss_kb(pid) for pid in workers}

        ledger = Ledger()
        ledger.created.update(warm.created)
        ledger.deleted.update(warm.deleted)
        deadline = time.monotonic() + seconds
        started = time.monotonic()
        threads = [threading.Thread(target=worker, args=(i, base, deadline, ledger), daemon=True)
                   for i in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 4 * TIMEOUT)
        elapsed = time.monotonic() - started
        stuck = sum(t.is_alive() for t in threads)

        rss_end = {pid: rss_kb(pid) for pid in workers}
        workers_now = [proc.pid] if one_process and proc.poll() is None else children(proc.pid)
        lost, resurrected = verify_writes(base, ledger)
    finally:
        stop_gunicorn(proc)

    log_text = Path(log_path).read_text(errors="replace")
    total = sum(ledger.statuses.values())
    served_by = "klue serve (waitress)" if one_process else f"gunicorn -w {args.workers}"
    print(f"soak: demo petstore under {served_by} on {base}, {args.threads} threads, {elapsed:.1f} s")
    print(f"requests: {total} ({total / elapsed:.0f}/s); latency p50 {percentile(ledger.latencies, .5) * 1000:.1f} ms,"
          f" p99 {percentile(ledger.latencies, .99) * 1000:.1f} ms")
    print("by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(ledger.statuses.items(), key=lambda i: str(i[0]))))
    print("by kind: " + ", ".join(f"{k}: {n}" for k, n in sorted(ledger.by_kind.items())))
    print(f"pets: {len(ledger.created) + len(ledger.deleted)} created (with warm-up), {len(ledger.deleted)} deleted,"
          f" {len(ledger.created)} checked at the end")
    growth = {}
    for pid in workers:
        boot, start, end = rss_boot.get(pid), rss_start.get(pid), rss_end.get(pid)
        growth[pid] = (end - start) / 1024 if start is not None and end is not None else None
        if growth[pid] is None:
            print(f"worker {pid} VmRSS: not readable (worker gone?)")
            continue
        print(f"worker {pid} VmRSS: {boot} kB at boot, {start} kB after warm-up, {end} kB at the end"
              f" ({end - start:+d} kB from warm-up to end)")
    for content_type, n in ledger.content_types_204.items():
        print(f"note: {n} responses 204 (no body) said Content-Type: {content_type}")

    checks = [
        ("no 5xx", not ledger.server_errors, f"{len(ledger.server_errors)} 5xx"
         + (f", first: {ledger.server_errors[0]}" if ledger.server_errors else "")),
        ("no transport error", not ledger.transport_errors and not stuck,
         f"{len(ledger.transport_errors)} errors, {stuck} threads stuck"
         + (f", first: {ledger.transport_errors[0]}" if ledger.transport_errors else "")),
        ("every status as expected", not ledger.unexpected, f"{len(ledger.unexpected)} unexpected"
         + (f", first: {ledger.unexpected[0]}" if ledger.unexpected else "")),
        ("no lost write", not lost, f"{len(lost)} lost of {len(ledger.created)}" + (f", first: {lost[0]}" if lost else "")),
        ("deleted stay deleted", not resurrected, f"{len(resurrected)} of {len(ledger.deleted)} readable again"),
        ("workers all alive", workers_now == workers, f"at start {workers}, at the end {workers_now}"),
        (f"RSS growth < {args.max_rss_growth_mb:g} MB per worker",
         all(g is not None and g < args.max_rss_growth_mb for g in growth.values()),
         ", ".join(f"{pid}: {g:+.2f} MB" if g is not None else f"{pid}: ?" for pid, g in growth.items())),
    ]
    failed = 0
    for name, ok, detail in checks:
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}  {name}: {detail}")
    errors_logged = sum(1 for line in log_text.splitlines() if "ERROR" in line or "Traceback" in line)
    if errors_logged:
        print(f"gunicorn log: {errors_logged} ERROR/Traceback lines ({log_path}); its end:")
        print(log_text[-3000:])
    else:
        print("gunicorn log: no ERROR/Traceback line")
    if not failed and not errors_logged:
        shutil.rmtree(tmp, ignore_errors=True)  # kept, with the log and the database, when something failed
    print("soak: " + ("all checks passed" if not failed else f"{failed} check(s) failed"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
