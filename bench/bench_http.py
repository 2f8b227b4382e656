"""Server over HTTP on 127.0.0.1: klue's spawned app against plain Flask, both
under gunicorn; then klue's app under each WSGI server klue can run it with.

Both apps run at once under the same gunicorn settings (2 sync workers, each
on its own free port of 127.0.0.1); a bounded load generator drives one at a
time: wrk (Debian's package) when installed, else a small Python one. Each
round runs GET /v1/items/7 and the validated POST /v1/orders for 10 s per
app; req/s, p50/p99 latency and errors are medians over rounds, ratios are
taken within each round. The machine has 2 cores: the workers and the load
generator share them, so absolute figures are low; the ratio is the point.
The second table serves the klue app with werkzeug's threaded development
server (what ``klue serve`` ran before), waitress as ``klue serve`` runs it,
and gunicorn with 2 sync and 2 gevent workers (``klue serve --workers 2``).

    python bench/bench_http.py [--smoke] [--rounds N] [--duration S] [--loadgen auto|wrk|python]
"""
from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import _common as c

TARGET = 0.8  # klue req/s / plain Flask's, zero errors
APPS = ("klue", "plain")
CONNECTIONS = 4
MAX_REQUESTS = 2_000_000  # a bound on any one run, whatever its duration


def endpoints() -> dict[str, tuple[str, str, bytes | None, int]]:
    import bench_apps

    body = json.dumps(bench_apps.order_body(lines=20)).encode()
    return {"GET /v1/items/7": ("GET", "/v1/items/7", None, 200),
            "POST /v1/orders": ("POST", "/v1/orders", body, 201)}


# -- load generators: each returns {"rps", "p50_ms", "p99_ms", "errors", "requests"} -------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)([a-z]+)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def run_wrk(port: int, method: str, path: str, body: bytes | None, duration: float) -> dict:
    url = f"http://{c.LOOPBACK}:{port}{path}"
    cmd = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(duration))}s", "--latency", "--timeout", "5s"]
    with tempfile.TemporaryDirectory() as tmp:
        if body is not None:
            script = Path(tmp) / "post.lua"
            script.write_text(f'wrk.method = "{method}"\nwrk.body = [[{body.decode()}]]\n'
                              'wrk.headers["Content-Type"] = "application/json"\n')
            cmd += ["-s", str(script)]
        out = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", out, re.M))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = (sum(map(int, socket_errors.groups())) if socket_errors else 0) + (int(non_2xx.group(1)) if non_2xx else 0)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "p50_ms": _ms(latency["50"]), "p99_ms": _ms(latency["99"]), "errors": errors,
            "requests": int(re.search(r"(\d+) requests in", out).group(1))}  # type: ignore[union-attr]


def run_python(port: int, method: str, path: str, body: bytes | None, duration: float, ok: int) -> dict:
    """``CONNECTIONS`` threads, each one connection (reopened when the server closes it)."""
    headers = {"Content-Type": "application/json"} if body is not None else {}
    deadline = time.perf_counter() + duration
    latencies: list[list[float]] = [[] for _ in range(CONNECTIONS)]
    errors = [0] * CONNECTIONS
    per_thread = MAX_REQUESTS // CONNECTIONS

    def worker(i: int) -> None:
        conn = None
        mine = latencies[i]
        while time.perf_counter() < deadline and len(mine) < per_thread:
            start = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(c.LOOPBACK, port, timeout=5)
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status != ok:
                    errors[i] += 1
                if response.will_close:
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                if conn is not None:
                    conn.close()
                conn = None
                continue
            mine.append(time.perf_counter() - start)
        if conn is not None:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=duration + 30)
    elapsed = time.perf_counter() - started
    done = sorted(x for per in latencies for x in per)
    if not done:
        return {"rps": 0.0, "p50_ms": float("nan"), "p99_ms": float("nan"), "errors": sum(errors), "requests": 0}
    return {"rps": len(done) / elapsed, "p50_ms": done[len(done) // 2] * 1e3,
            "p99_ms": done[min(len(done) - 1, int(len(done) * 0.99))] * 1e3, "errors": sum(errors), "requests": len(done)}


def main() -> int:
    p = c.parser(__doc__)
    p.add_argument("--duration", type=float, default=None, help="seconds per load run (default 10, 1 with --smoke)")
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto",
                   help="auto: wrk if installed (never in --smoke), else the Python generator")
    args = p.parse_args()
    rounds = c.rounds(args)
    duration = args.duration or (1.0 if args.smoke else 10.0)
    loadgen = args.loadgen
    if loadgen == "auto":
        loadgen = "wrk" if c.which("wrk") and not args.smoke else "python"
    if loadgen == "wrk" and not c.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install -y wrk (or --loadgen python)")
    wrk_version = ""
    if loadgen == "wrk":
        wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    c.print_environment("bench_http: gunicorn over 127.0.0.1", [
        ["method", f"{rounds} round(s); per app and endpoint {duration:g} s of load; gunicorn --workers 2 (sync), "
                   f"one app at a time under load"],
        ["load generator", f"{wrk_version or loadgen}: 1 thread, {CONNECTIONS} connections" if loadgen == "wrk"
         else f"Python (http.client): {CONNECTIONS} threads, one connection each"],
    ])

    eps = endpoints()
    results: dict[str, dict[str, list[dict]]] = {e: {a: [] for a in APPS} for e in eps}
    ports = {app: c.free_port() for app in APPS}
    with c.process(c.gunicorn_command("klue", ports["klue"]), name="gunicorn klue") as klue_proc, \
         c.process(c.gunicorn_command("plain", ports["plain"]), name="gunicorn plain") as plain_proc:
        for app, proc in (("klue", klue_proc), ("plain", plain_proc)):
            c.wait_until_up(f"http://{c.LOOPBACK}:{ports[app]}/v1/items/1", proc)
        for r in range(rounds):
            for endpoint, (method, path, body, ok) in eps.items():
                order = APPS if r % 2 == 0 else APPS[::-1]
                for app in order:
                    if loadgen == "wrk":
                        result = run_wrk(ports[app], method, path, body, duration)
                    else:
                        result = run_python(ports[app], method, path, body, duration, ok)
                    results[endpoint][app].append(result)
        for app, proc in (("klue", klue_proc), ("plain", plain_proc)):
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn ({app}) died during the run")

    verdicts = c.Verdicts()
    for endpoint, by_app in results.items():
        rows = []
        ratios = [k["rps"] / p["rps"] if p["rps"] else float("nan") for k, p in zip(by_app["klue"], by_app["plain"])]
        for app, runs in by_app.items():
            rps = [x["rps"] for x in runs]
            rows.append([app, f"{c.median(rps):,.0f}", c.spread(rps), f"{c.median([x['p50_ms'] for x in runs]):.2f}",
                         f"{c.median([x['p99_ms'] for x in runs]):.2f}", sum(x["errors"] for x in runs),
                         sum(x["requests"] for x in runs),
                         f"{c.median(ratios):.2f}x" if app == "klue" else "1.00x"])
        c.print_table(endpoint, ["app", "req/s", "req/s range", "p50 ms", "p99 ms", "errors", "requests", "vs plain"], rows)
        errors = sum(x["errors"] for x in by_app["klue"])
        verdicts.check(f"{endpoint.split()[0]} under gunicorn >= {TARGET}x plain Flask req/s, zero errors",
                       c.median(ratios) >= TARGET and errors == 0, f"{c.median(ratios):.3f}x, {errors} errors")
    compare_servers(eps, duration, loadgen)
    return c.finish(verdicts, args)


_IN_PROCESS = ("import sys; sys.path[:0] = [{bench!r}, {root!r}]; import bench_apps; app = bench_apps.klue_app(); "
               "{serve}")
SERVERS = {
    # its per-request log lines would fill the unread stderr pipe and stall it
    "werkzeug, threaded": "import logging; logging.getLogger('werkzeug').setLevel(logging.ERROR); "
                          "from werkzeug.serving import run_simple; run_simple({host!r}, {port}, app, threaded=True)",
    "waitress, 8 threads (klue serve)": "from klue.serving import ServeOptions, run_waitress; "
                                        "run_waitress(app, ServeOptions(host={host!r}, port={port}))",
}


def server_command(name: str, port: int) -> list[str]:
    if name == "gunicorn, 2 sync workers":
        return c.gunicorn_command("klue", port)
    if name == "gunicorn, 2 gevent workers (klue serve --workers 2)":
        return [*c.gunicorn_command("klue", port)[:-1], "--worker-class", "gevent", "--worker-connections", "1000",
                c.gunicorn_command("klue", port)[-1]]
    serve = SERVERS[name].format(host=c.LOOPBACK, port=port)
    return [sys.executable, "-c", _IN_PROCESS.format(bench=str(c.BENCH_DIR), root=str(c.ROOT), serve=serve)]


def compare_servers(eps: dict, duration: float, loadgen: str) -> None:
    """The klue app under each server, one at a time (no verdict: a record for BENCHMARKS.rst)."""
    names = [*SERVERS, "gunicorn, 2 sync workers", "gunicorn, 2 gevent workers (klue serve --workers 2)"]
    rows: dict[str, list] = {e: [] for e in eps}
    for name in names:
        port = c.free_port()
        with c.process(server_command(name, port), name=name) as proc:
            c.wait_until_up(f"http://{c.LOOPBACK}:{port}/v1/items/1", proc)
            for endpoint, (method, path, body, ok) in eps.items():
                result = (run_wrk(port, method, path, body, duration) if loadgen == "wrk"
                          else run_python(port, method, path, body, duration, ok))
                rows[endpoint].append([name, f"{result['rps']:,.0f}", f"{result['p50_ms']:.2f}",
                                       f"{result['p99_ms']:.2f}", result["errors"]])
    for endpoint, table in rows.items():
        c.print_table(f"{endpoint}: klue's app by server", ["server", "req/s", "p50 ms", "p99 ms", "errors"], table)


if __name__ == "__main__":
    sys.exit(main())
