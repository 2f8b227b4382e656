"""What every bench script shares: arguments, the environment table, result
tables, PASS/MISS verdicts, and starting/stopping helper processes on 127.0.0.1.

Scripts import it as ``_common`` (``python bench/x.py`` puts bench/ first on
``sys.path``). Nothing here sends traffic anywhere but 127.0.0.1.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import importlib.metadata
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
CACHE_DIR = BENCH_DIR / ".cache"
SPEC_PATH = BENCH_DIR / "bench.yaml"
LOOPBACK = "127.0.0.1"

for _path in (str(ROOT), str(BENCH_DIR)):  # klue from this checkout, bench_* modules
    if _path not in sys.path:
        sys.path.insert(0, _path)

#: Packages whose versions head every table (those not installed show as "-").
PACKAGES = ("klue-client-server", "flask", "werkzeug", "requests", "urllib3", "jsonschema", "fastjsonschema",
            "bravado-core", "bravado", "connexion", "starlette", "a2wsgi", "gunicorn", "pyyaml")


# -- arguments and the run's outcome --------------------------------------------------

def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description.strip().splitlines()[0])
    p.add_argument("--smoke", action="store_true",
                   help="a few hundred iterations, seconds not minutes: checks the script still runs")
    p.add_argument("--rounds", type=int, default=None,
                   help="rounds of the whole comparison; figures and ratios are medians over rounds "
                        "(default 3, 1 with --smoke)")
    p.add_argument("--strict", action="store_true", help="exit 3 when a target is missed (default: exit 0)")
    return p


def rounds(args: argparse.Namespace) -> int:
    value = args.rounds if args.rounds is not None else (1 if args.smoke else 3)
    if value < 1:
        raise SystemExit("--rounds must be at least 1")
    return value


class Verdicts:
    """Targets and whether each was met: PASS, MISS, or SKIP (could not be measured here)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def check(self, target: str, ok: bool | None, detail: str) -> None:
        self.rows.append((target, "SKIP" if ok is None else ("PASS" if ok else "MISS"), detail))

    @property
    def missed(self) -> int:
        return sum(1 for _, verdict, _ in self.rows if verdict == "MISS")

    def print(self, smoke: bool = False) -> None:
        title = "Targets" + (" (smoke run: too short to judge; shown only to exercise the code)" if smoke else "")
        print_table(title, ["target", "verdict", "measured"], [list(r) for r in self.rows])


def finish(verdicts: Verdicts, args: argparse.Namespace) -> int:
    verdicts.print(smoke=args.smoke)
    if verdicts.missed and args.strict and not args.smoke:
        return 3
    return 0


# -- environment and tables -----------------------------------------------------------

def version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _git_revision() -> str:
    if os.environ.get("KLUE_BENCH_REVISION"):  # a snapshot without .git says where it came from
        return os.environ["KLUE_BENCH_REVISION"]
    if not (ROOT / ".git").exists():
        return "not a git checkout"
    try:
        rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "klue"], capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"
    return (rev or "?") + (" (klue/ modified)" if dirty else "")


def _klue_location() -> str:
    try:
        import klue
    except ImportError as e:  # pragma: no cover
        return f"not importable ({e})"
    return str(Path(klue.__file__).parent)


def print_environment(title: str, extra: Sequence[tuple[str, str]] = ()) -> None:
    print(f"== {title} ==")
    rows = [
        ["date (UTC)", dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M")],
        ["python", f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})"],
        ["machine", f"{platform.system()} {platform.release()} {platform.machine()}, "
                    f"{os.cpu_count()} CPUs, {_cpu_model()}"],
        ["klue", f"{_klue_location()}, revision {_git_revision()}"],
        ["packages", ", ".join(f"{p} {version(p)}" for p in PACKAGES)],
        *[list(r) for r in extra],
    ]
    print_table(None, ["", ""], rows, header=False)


def print_table(title: str | None, headers: Sequence[str], rows: Sequence[Sequence[Any]], header: bool = True) -> None:
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h) if header else 0, *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    if title:
        print(f"\n{title}")
    lines = []
    if header:
        lines.append("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    print("\n".join("  " + line for line in lines), flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: Sequence[float]) -> str:
    """``min..max`` of a round-by-round figure, to show how noisy it was."""
    if len(values) < 2:
        return "-"
    low, high = min(values), max(values)
    fmt = (lambda v: f"{v:,.0f}") if low >= 100 else (lambda v: f"{v:.3g}")
    return f"{fmt(low)}..{fmt(high)}"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


@contextlib.contextmanager
def quiet_gc() -> Iterator[None]:
    """Collect before a timed section, so one contender does not pay for another's garbage."""
    gc.collect()
    yield


# -- helper processes on 127.0.0.1 ----------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(BENCH_DIR), str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


@contextlib.contextmanager
def process(cmd: Sequence[str], env: dict[str, str] | None = None, name: str = "") -> Iterator[subprocess.Popen]:
    """Run ``cmd`` in its own process group; always stopped (TERM, then KILL) on exit."""
    proc = subprocess.Popen(list(cmd), env=env or subprocess_env(), cwd=str(BENCH_DIR), start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        yield proc
    finally:
        stop(proc, name or cmd[0])


def stop(proc: subprocess.Popen, name: str) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)  # the group: gunicorn's workers too
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait(timeout=15)
    if proc.stderr:
        proc.stderr.close()


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Poll ``url`` (on 127.0.0.1) until it answers, the process dies, or ``timeout`` passes."""
    assert url.startswith(f"http://{LOOPBACK}:"), url
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace")[-2000:] if proc.stderr else ""
            raise RuntimeError(f"server exited with status {proc.returncode} before answering {url}:\n{err}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status < 500:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} within {timeout:.0f} s")


def serve_command(app: str, port: int) -> list[str]:
    """A threaded werkzeug server of ``bench_apps.FACTORIES[app]`` (HTTP/1.1 keep-alive), see serve.py."""
    return [sys.executable, str(BENCH_DIR / "serve.py"), app, str(port)]


def gunicorn_command(app: str, port: int, workers: int = 2) -> list[str]:
    return [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{LOOPBACK}:{port}",
            "--pythonpath", f"{BENCH_DIR}{os.pathsep}{ROOT}", "--log-level", "warning", "--backlog", "64",
            f"bench_apps:{app}_app()"]


def which(tool: str) -> str | None:
    return shutil.which(tool)


def json_ready(document: Any) -> Any:
    """A YAML document as JSON would have it: ``200:`` keys and dates become strings
    (bravado-core expects that; klue's loader does it itself)."""
    import json

    return json.loads(json.dumps(document, default=str))


def timed(fn: Callable[[], Any], clock: Callable[[], float] = time.perf_counter) -> float:
    start = clock()
    fn()
    return clock() - start


# -- profiling klue's hot paths -------------------------------------------------------

def add_profile_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profile", choices=("cprofile", "pyinstrument"), default=None,
                   help="after the benchmark, profile klue's contender and print its top klue-side costs")


def _bucket(filename: str) -> str:
    """Who a profiled function belongs to: klue, a package, the stdlib, builtins, generated code."""
    if filename == "~":
        return "builtins (C)"
    if filename.startswith("<"):
        return "generated code (fastjsonschema validators)"
    path = Path(filename)
    try:
        return path.relative_to(ROOT).parts[0] + "/"  # klue/, bench/
    except ValueError:
        pass
    parts = path.parts
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1].removesuffix(".py")
    return "stdlib: " + path.stem


def _where(filename: str, line: int) -> str:
    with contextlib.suppress(ValueError):
        return f"{Path(filename).relative_to(ROOT)}:{line}"
    return f"{filename}:{line}"


def profile(label: str, fn: Callable[[], Any], calls: int, kind: str = "cprofile", top: int = 10) -> None:
    """Run ``fn`` (which makes ``calls`` requests or calls) under a profiler and print
    the self time per package, and the klue functions with the most self and
    cumulative time, as file:line, in microseconds per request."""
    if kind == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
        profiler.start()
        fn()
        profiler.stop()
        print(f"\nProfile of {label} (pyinstrument, {calls} calls)")
        print(profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False))
        return
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    by_bucket: dict[str, float] = {}
    klue_rows = []
    total = 0.0
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in stats.items():
        bucket = _bucket(filename)
        by_bucket[bucket] = by_bucket.get(bucket, 0.0) + tottime
        total += tottime
        if bucket == "klue/":
            klue_rows.append((_where(filename, line), func, ncalls, tottime, cumtime))
    per = 1e6 / calls
    print_table(f"Profile of {label} (cProfile, {calls} calls; its overhead inflates every figure): self time by owner",
                ["owner", "us/call", "share"],
                [[b, f"{t * per:.1f}", f"{t / total:.0%}"] for b, t in sorted(by_bucket.items(), key=lambda kv: -kv[1])[:12]])
    for title, key in (("self", 3), ("cumulative", 4)):
        rows = sorted(klue_rows, key=lambda r: -r[key])[:top]
        print_table(f"  top klue functions by {title} time", ["where", "function", "calls/call", "self us", "cum us"],
                    [[w, f, f"{n / calls:.3g}", f"{t * per:.1f}", f"{c * per:.1f}"] for w, f, n, t, c in rows])
