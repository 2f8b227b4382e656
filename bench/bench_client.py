"""Client: the CPU one klue call costs its calling thread, and async_call's concurrency.

bench.yaml's klue app is served on 127.0.0.1 by a threaded werkzeug server in
a subprocess (HTTP/1.1 keep-alive, so every client reuses its connection).
One call's cost is the calling thread's CPU time (``time.thread_time()``,
user + system, so the server's work and the wait for it do not count) for
klue's ``api.client.get_item(item_id=7).call()`` against a raw
``requests.Session`` GET (+ ``raise_for_status()`` and ``.json()``) and
bravado's ``SwaggerClient``; the same for the validated POST of a 20-line
order (the clients take turns in blocks of 200 calls; ratios are medians of
block-by-block ratios). Then ``async_call`` of 50 calls to an endpoint that sleeps 100 ms,
against the same calls made one after another (and, as the floor this
machine allows, 50 threads of raw requests calls). Medians over rounds.

    python bench/bench_client.py [--smoke] [--rounds N] [--profile cprofile|pyinstrument]
"""
from __future__ import annotations

import datetime
import logging
import sys
import time
import warnings
from typing import Any, Callable

import _common as c

warnings.filterwarnings("ignore", message="email format is not registered")  # bravado-core, per call

TARGET_CPU = 1.10    # klue call CPU / raw requests.Session call CPU, at most
TARGET_ASYNC = 0.2   # seconds for async_call of 50 x 100 ms calls, under
PARALLEL = 50
BLOCKS = 10  # each round's calls, per client, in this many turns


def bravado_client(port: int) -> Any:
    import yaml
    from bravado.client import SwaggerClient
    from bravado.requests_client import RequestsClient

    spec = c.json_ready(yaml.safe_load(c.SPEC_PATH.read_text()))
    spec["host"] = f"{c.LOOPBACK}:{port}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SwaggerClient.from_spec(spec, origin_url=f"http://{c.LOOPBACK}:{port}/v1/swagger.json",
                                       http_client=RequestsClient(),
                                       config={"validate_responses": True, "validate_requests": True, "use_models": True})


def contenders(port: int) -> dict[str, dict[str, Callable[[], Any]]]:
    import requests

    import bench_apps
    from klue.swagger import ApiPool

    body = bench_apps.order_body(lines=20)
    base = f"http://{c.LOOPBACK}:{port}/v1"
    session = requests.Session()

    def raw_get() -> Any:
        response = session.get(f"{base}/items/7", timeout=10)
        response.raise_for_status()
        return response.json()

    def raw_post() -> Any:
        response = session.post(f"{base}/orders", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    api = ApiPool.add("bench_client", yaml_path=str(c.SPEC_PATH), host=c.LOOPBACK, port=port, proto="http")
    out: dict[str, dict[str, Callable[[], Any]]] = {
        "GET /v1/items/7": {"raw requests.Session": raw_get, "klue": lambda: api.client.get_item(item_id=7).call()},
        "POST /v1/orders": {"raw requests.Session": raw_post, "klue": lambda: api.client.create_order(body).call()},
    }
    try:
        bravado = bravado_client(port)
    except ImportError as e:
        print(f"(bravado not installed: {e}; pip install -e '.[bench]')")
    else:
        out["GET /v1/items/7"]["bravado SwaggerClient"] = lambda: bravado.bench.get_item(item_id=7).response().result
        # bravado marshals date-time fields from datetime objects only
        bravado_body = {**body, "placed_at": datetime.datetime(2026, 11, 22, 10, 15, tzinfo=datetime.timezone.utc)}
        out["POST /v1/orders"]["bravado SwaggerClient"] = (
            lambda: bravado.bench.create_order(body=bravado_body).response().result)
    return out


def raw_parallel(port: int) -> Callable[[], Any]:
    """What the machine allows: PARALLEL threads, each a raw requests call on its own session
    (kept between rounds, as klue keeps its pool), started and joined like async_call's pool."""
    from concurrent.futures import ThreadPoolExecutor

    import requests

    url = f"http://{c.LOOPBACK}:{port}/v1/slow"
    sessions = [requests.Session() for _ in range(PARALLEL)]

    def one(session: Any) -> Any:
        response = session.get(url, timeout=10)
        response.raise_for_status()
        return response.json()

    def run() -> None:
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            results = list(pool.map(one, sessions))
        assert len(results) == PARALLEL

    return run


def check_results(by_endpoint: dict[str, dict[str, Callable[[], Any]]]) -> None:
    from klue.swagger import ApiPool

    api = ApiPool.get("bench_client")
    for endpoint, by_name in by_endpoint.items():
        for name, fn in by_name.items():
            result = fn()
            if hasattr(result, "_as_dict") and not hasattr(type(result), "_klue_field_set"):
                result = result._as_dict()  # bravado's model (klue's models are klue's own, not bravado-core's)
            as_json = api.model_to_json(result) if not isinstance(result, dict) else result
            if not isinstance(as_json, dict) or not ("id" in as_json or "total" in as_json):
                raise SystemExit(f"{name} {endpoint} returned {result!r}")


def cpu_per_call(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """(thread CPU seconds, wall seconds) per call, over ``n`` calls."""
    with c.quiet_gc():
        cpu, wall = time.thread_time(), time.perf_counter()
        for _ in range(n):
            fn()
        return (time.thread_time() - cpu) / n, (time.perf_counter() - wall) / n


def main() -> int:
    p = c.parser(__doc__)
    c.add_profile_argument(p)
    args = p.parse_args()
    rounds = c.rounds(args)
    n, warmup, sequential = (100, 10, 10) if args.smoke else (2000, 100, PARALLEL)
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)  # "pool is full" with 50 threads
    c.print_environment("bench_client: klue's client against requests and bravado", [
        ["method", f"{rounds} round(s) x {n} calls per client after {warmup} of warm-up, in turns of "
                   f"{max(1, n // BLOCKS)}; CPU = time.thread_time() of "
                   f"the calling thread; server: werkzeug threaded, in a subprocess on 127.0.0.1"],
        ["async_call", f"{PARALLEL} calls of GET /v1/slow (100 ms each), against {sequential} made one after another"],
    ])
    port = c.free_port()
    with c.process(c.serve_command("klue", port), name="serve.py klue") as server:
        c.wait_until_up(f"http://{c.LOOPBACK}:{port}/v1/items/1", server)
        clients = contenders(port)
        check_results(clients)
        cpu: dict[str, dict[str, list[float]]] = {e: {k: [] for k in d} for e, d in clients.items()}
        blocks: dict[str, dict[str, list[float]]] = {e: {k: [] for k in d} for e, d in clients.items()}
        wall: dict[str, dict[str, list[float]]] = {e: {k: [] for k in d} for e, d in clients.items()}
        floor = f"raw requests, {PARALLEL} threads (the floor here)"
        parallel: dict[str, list[float]] = {"async_call (default max_workers)": [],
                                            f"async_call (max_workers={PARALLEL})": [], floor: [],
                                            "one after another": []}
        raw_slow = raw_parallel(port)
        from klue.swagger import ApiPool
        from klue.swagger.client import async_call

        api = ApiPool.get("bench_client")
        for r in range(rounds):
            for endpoint, by_name in clients.items():
                names = list(by_name)
                names = names[r % len(names):] + names[:r % len(names)]
                for name in names:
                    for _ in range(warmup):
                        by_name[name]()
                # Clients take turns in blocks, so noise on a shared machine hits them alike;
                # ratios are medians of block-by-block ratios.
                totals = {name: [0.0, 0.0] for name in names}
                for _ in range(BLOCKS):
                    for name in names:
                        per_cpu, per_wall = cpu_per_call(by_name[name], max(1, n // BLOCKS))
                        blocks[endpoint][name].append(per_cpu)
                        totals[name][0] += per_cpu / BLOCKS
                        totals[name][1] += per_wall / BLOCKS
                for name in names:
                    cpu[endpoint][name].append(totals[name][0])
                    wall[endpoint][name].append(totals[name][1])
            for label, workers in (("async_call (default max_workers)", None), (f"async_call (max_workers={PARALLEL})", PARALLEL)):
                calls = [api.client.slow() for _ in range(PARALLEL)]
                start = time.perf_counter()
                results = async_call(*calls, max_workers=workers)
                parallel[label].append(time.perf_counter() - start)
                assert len(results) == PARALLEL and all(x.id == 1 for x in results), results
            start = time.perf_counter()
            raw_slow()
            parallel[floor].append(time.perf_counter() - start)
            calls = [api.client.slow() for _ in range(sequential)]
            start = time.perf_counter()
            for call in calls:
                call.call()
            parallel["one after another"].append((time.perf_counter() - start) * PARALLEL / sequential)

        verdicts = c.Verdicts()
        for endpoint, by_name in cpu.items():
            rows = []
            raw = blocks[endpoint]["raw requests.Session"]
            klue_ratio = float("nan")
            for name, values in by_name.items():
                ratio = c.median([v / b for v, b in zip(blocks[endpoint][name], raw)])
                if name == "klue":
                    klue_ratio = ratio
                rows.append([name, f"{c.median(values) * 1e6:,.0f}", c.spread([v * 1e6 for v in values]),
                             f"{c.median(wall[endpoint][name]) * 1e6:,.0f}", f"{ratio:.2f}x"])
            c.print_table(f"{endpoint}: one call", ["client", "CPU us/call", "CPU range", "wall us/call", "CPU vs raw"], rows)
            verdicts.check(f"klue {endpoint.split()[0]} call CPU <= {TARGET_CPU:.2f}x raw requests.Session",
                           klue_ratio <= TARGET_CPU, f"{klue_ratio:.3f}x")
        rows = [[label, PARALLEL, f"{c.median(values):.3f}", c.spread(values)] for label, values in parallel.items()]
        if sequential != PARALLEL:
            rows[-1][0] += f" ({sequential} timed, x{PARALLEL // sequential})"
        c.print_table("GET /v1/slow (server sleeps 100 ms)", ["how", "calls", "seconds", "range"], rows)
        default_time = c.median(parallel["async_call (default max_workers)"])
        verdicts.check(f"async_call of {PARALLEL} x 100 ms calls < {TARGET_ASYNC} s", default_time < TARGET_ASYNC,
                       f"{default_time:.3f} s (max_workers={PARALLEL}: "
                       f"{c.median(parallel[f'async_call (max_workers={PARALLEL})']):.3f} s)")

        if args.profile:
            for endpoint, by_name in clients.items():
                fn = by_name["klue"]
                c.profile(f"klue client {endpoint}", lambda: [fn() for _ in range(n)], n, kind=args.profile)
        api.client._close()
    return c.finish(verdicts, args)


if __name__ == "__main__":
    sys.exit(main())
