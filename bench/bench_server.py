"""Server, in process: klue's spawned routes against plain Flask and connexion 3.

Calls each app directly (WSGI callable; connexion's ASGI app on an event
loop), no socket: a GET returning a small model, and a POST whose body (an
order of 10 properties, a nested customer and 20 lines) is fully validated.
Contenders: klue, plain Flask without validation, plain Flask with jsonschema
validators built once, connexion 3 ``FlaskApp`` on the same spec. Each round
sends 2,000 requests per contender after 200 of warm-up, the contenders
taking turns in blocks of 200 so that noise on a shared machine hits all
alike; req/s are medians over rounds, ratios medians of block-by-block ratios.

    python bench/bench_server.py [--smoke] [--rounds N] [--profile cprofile|pyinstrument]
"""
from __future__ import annotations

import json
import logging
import sys
import time
import warnings

import _common as c
from drivers import AsgiDriver, WsgiDriver

TARGET_GET = 0.7       # klue GET req/s / plain Flask's
TARGET_POST = 0.5      # klue validated POST req/s / plain Flask's unvalidated
TARGET_CONNEXION = 5.0  # klue req/s / connexion FlaskApp's, both endpoints
TARGET_API_KEY = 1.05  # time of a GET behind an API key (a dict lookup) / the same GET unprotected
BLOCKS = 10  # each round's requests, per contender, in this many turns


def build_contenders() -> dict[str, object]:
    import bench_apps

    apps: dict[str, object] = {
        "klue": bench_apps.klue_app(),
        "plain Flask": bench_apps.plain_app(),
        "Flask + jsonschema": bench_apps.plain_jsonschema_app(),
    }
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            apps["connexion 3 FlaskApp"] = bench_apps.connexion_app()
    except ImportError as e:
        print(f"(connexion not installed: {e}; pip install -e '.[bench]')")
    return apps


def drivers_for(apps: dict[str, object]) -> dict[str, dict[str, tuple[object, int]]]:
    import bench_apps

    body = bench_apps.order_body(lines=20)
    endpoints = {"GET /v1/items/7": ("GET", "/v1/items/7", None, 200),
                 "POST /v1/orders": ("POST", "/v1/orders", body, 201)}
    out: dict[str, dict[str, tuple[object, int]]] = {}
    for endpoint, (method, path, data, ok) in endpoints.items():
        out[endpoint] = {}
        for name, app in apps.items():
            driver_cls = AsgiDriver if name.startswith("connexion") else WsgiDriver
            out[endpoint][name] = (driver_cls(app, method, path, data), ok)
    return out


def check_answers(drivers: dict[str, dict[str, tuple[object, int]]]) -> None:
    """Every contender must answer the same JSON with the expected status, or the race is meaningless."""
    for endpoint, by_name in drivers.items():
        answers = {}
        for name, (driver, ok) in by_name.items():
            status, data = driver.one()  # type: ignore[attr-defined]
            if status != ok:
                raise SystemExit(f"{name} answered {endpoint} with {status}, not {ok}: {data[:300]!r}")
            answers[name] = json.loads(data)
        first = next(iter(answers.values()))
        for name, answer in answers.items():
            if answer != first:
                raise SystemExit(f"{name} answered {endpoint} differently: {answer} vs {first}")


def api_key_cost(app: object, n: int, warmup: int, rounds: int) -> float:
    """Median over blocks of (time of GET /v1/secure-items/7 with its key) / (time of GET /v1/items/7).

    The two take turns in small blocks, many of them, so that the shared
    machine's noise (about 10%) hits both alike and the median sees through it."""
    plain = WsgiDriver(app, "GET", "/v1/items/7")
    keyed = WsgiDriver(app, "GET", "/v1/secure-items/7", headers={"X-API-Key": "bench-key"})
    if keyed.one()[0] != 200 or WsgiDriver(app, "GET", "/v1/secure-items/7").one()[0] != 401:
        raise SystemExit("the API key check of /v1/secure-items does not answer 200 with the key and 401 without")
    blocks, block = BLOCKS * 4 * rounds, max(1, n // (BLOCKS * 4))
    plain.run(warmup, 200)
    keyed.run(warmup, 200)
    ratios, errors = [], 0
    for i in range(blocks):
        order = (plain, keyed) if i % 2 else (keyed, plain)
        times = {}
        for driver in order:
            with c.quiet_gc():
                start = time.perf_counter()
                errors += driver.run(block, 200)
                times[driver] = time.perf_counter() - start
        ratios.append(times[keyed] / times[plain])
    if errors:
        raise SystemExit(f"{errors} requests of the API key comparison failed")
    ratio = c.median(ratios)
    c.print_table("GET /v1/items/7, unprotected and behind an API key (klue only)",
                  ["blocks", "requests per block", "median time ratio", "ratio range"],
                  [[blocks, block, f"{ratio:.3f}x", c.spread(ratios)]])
    return ratio


def main() -> int:
    p = c.parser(__doc__)
    c.add_profile_argument(p)
    args = p.parse_args()
    rounds = c.rounds(args)
    n, warmup = (200, 20) if args.smoke else (2000, 200)
    logging.getLogger("klue").setLevel(logging.WARNING)
    c.print_environment("bench_server: in-process requests (no socket)",
                        [["method", f"{rounds} round(s) x {n} requests per contender after {warmup} of warm-up, in turns of "
                                    f"{max(1, n // BLOCKS)}; "
                                    "WSGI apps called directly, connexion's ASGI app on one asyncio loop"]])
    apps = build_contenders()
    drivers = drivers_for(apps)
    check_answers(drivers)

    rates: dict[str, dict[str, list[float]]] = {e: {name: [] for name in d} for e, d in drivers.items()}
    errors: dict[str, dict[str, int]] = {e: {name: 0 for name in d} for e, d in drivers.items()}
    # Contenders take turns in blocks, so a burst of noise from the shared machine
    # hits them all alike; ratios are medians of block-by-block ratios.
    block = max(1, n // BLOCKS)
    block_times: dict[str, dict[str, list[float]]] = {e: {name: [] for name in d} for e, d in drivers.items()}
    for r in range(rounds):
        for endpoint, by_name in drivers.items():
            names = list(by_name)
            names = names[r % len(names):] + names[:r % len(names)]  # rotate who goes first
            for name in names:
                driver, ok = by_name[name]
                driver.run(warmup, ok)  # type: ignore[attr-defined]
            round_time = dict.fromkeys(names, 0.0)
            for _ in range(BLOCKS):
                for name in names:
                    driver, ok = by_name[name]
                    with c.quiet_gc():
                        start = time.perf_counter()
                        errors[endpoint][name] += driver.run(block, ok)  # type: ignore[attr-defined]
                        elapsed = time.perf_counter() - start
                    block_times[endpoint][name].append(elapsed)
                    round_time[name] += elapsed
            for name in names:
                rates[endpoint][name].append(block * BLOCKS / round_time[name])

    verdicts = c.Verdicts()
    summary: dict[str, dict[str, float]] = {}
    for endpoint, by_name in rates.items():
        rows = []
        summary[endpoint] = {}
        times = block_times[endpoint]
        for name, values in by_name.items():
            vs_plain = c.median([p / t for t, p in zip(times[name], times["plain Flask"])])
            vs_conn = (c.median([p / t for t, p in zip(times[name], times["connexion 3 FlaskApp"])])
                       if "connexion 3 FlaskApp" in times else float("nan"))
            summary[endpoint][name] = vs_plain
            summary[endpoint][name + " vs connexion"] = vs_conn
            rate = c.median(values)
            rows.append([name, f"{rate:,.0f}", f"{1e6 / rate:,.0f}", c.spread(values), f"{vs_plain:.2f}x",
                         f"{vs_conn:.1f}x", errors[endpoint][name]])
        c.print_table(endpoint, ["contender", "req/s", "us/req", "req/s range", "vs plain", "vs connexion", "errors"], rows)

    get, post = summary["GET /v1/items/7"], summary["POST /v1/orders"]
    verdicts.check(f"spawned GET >= {TARGET_GET}x plain Flask req/s", get["klue"] >= TARGET_GET, f"{get['klue']:.3f}x")
    verdicts.check(f"validated POST >= {TARGET_POST}x plain Flask (unvalidated) req/s", post["klue"] >= TARGET_POST,
                   f"{post['klue']:.3f}x")
    for endpoint, figures in (("GET", get), ("POST", post)):
        vs = figures["klue vs connexion"]
        verdicts.check(f"{endpoint} >= {TARGET_CONNEXION:g}x connexion FlaskApp req/s",
                       None if vs != vs else vs >= TARGET_CONNEXION, "connexion not installed" if vs != vs else f"{vs:.1f}x")
    if any(e for by_name in errors.values() for e in by_name.values()):
        verdicts.check("no request failed", False, json.dumps(errors))

    cost = api_key_cost(apps["klue"], n, warmup, rounds)
    verdicts.check(f"GET behind an API key <= {TARGET_API_KEY}x the time of the same GET unprotected",
                   cost <= TARGET_API_KEY, f"{cost:.3f}x")

    if args.profile:
        for endpoint, by_name in drivers.items():
            driver, ok = by_name["klue"]
            c.profile(f"klue {endpoint}", lambda: driver.run(n, ok), n, kind=args.profile)  # type: ignore[attr-defined]
    for by_name in drivers.values():
        for driver, _ in by_name.values():
            driver.close()  # type: ignore[attr-defined]
    return c.finish(verdicts, args)


if __name__ == "__main__":
    sys.exit(main())
