"""Run every bench script, one after another, and sum up: ``python bench/run_all.py [--smoke]``.

Each script runs in its own process with this interpreter; its output is
shown as it comes (and kept with ``--out FILE``). The exit status is 0 when
every script ran to its end, whatever the targets said (a missed target is a
MISS line, not a failure; ``--strict`` makes it exit 3), and 1 when a script
crashed or timed out, so ``--smoke`` in CI catches scripts that rot.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
SCRIPTS = ("bench_server.py", "bench_http.py", "bench_client.py", "bench_specs.py", "bench_hostile.py", "bench_import.py")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="each script's smoke mode: seconds, not minutes")
    p.add_argument("--strict", action="store_true", help="exit 3 when a target is missed (full runs only)")
    p.add_argument("--rounds", type=int, default=None, help="passed to every script")
    p.add_argument("--only", nargs="+", choices=[s.removesuffix(".py") for s in SCRIPTS], help="run only these")
    p.add_argument("--out", type=Path, help="also write the whole output to this file")
    args = p.parse_args()
    timeout = 600 if args.smoke else 3600  # per script: runs are bounded however a script misbehaves
    scripts = [s for s in SCRIPTS if not args.only or s.removesuffix(".py") in args.only]
    log = args.out.open("w") if args.out else None
    summary = []
    started_all = time.perf_counter()
    try:
        for script in scripts:
            cmd = [sys.executable, str(BENCH_DIR / script)]
            cmd += ["--smoke"] if args.smoke else []
            cmd += ["--strict"] if args.strict else []
            cmd += ["--rounds", str(args.rounds)] if args.rounds else []
            header = f"\n##### {' '.join(['python', f'bench/{script}', *cmd[2:]])}\n"
            print(header, flush=True)
            if log:
                log.write(header)
            started = time.perf_counter()
            verdicts = {"PASS": 0, "MISS": 0, "SKIP": 0}
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1)
            try:
                assert proc.stdout is not None
                deadline = started + timeout
                for line in proc.stdout:
                    sys.stdout.write(line)
                    if log:
                        log.write(line)
                    for verdict in verdicts:
                        if f"  {verdict}  " in line:
                            verdicts[verdict] += 1
                    if time.perf_counter() > deadline:
                        raise subprocess.TimeoutExpired(cmd, timeout)
                code = proc.wait(timeout=max(1.0, deadline - time.perf_counter()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                code = "timeout"
            summary.append([script, "ok" if code == 0 else ("missed targets" if code == 3 else f"FAILED ({code})"),
                            f"{time.perf_counter() - started:.0f}", verdicts["PASS"], verdicts["MISS"], verdicts["SKIP"]])
    finally:
        lines = [f"\n##### run_all{' --smoke' if args.smoke else ''}: {time.perf_counter() - started_all:.0f} s",
                 f"  {'script':<18} {'status':<16} {'seconds':>7} {'PASS':>5} {'MISS':>5} {'SKIP':>5}"]
        lines += [f"  {s:<18} {st:<16} {sec:>7} {a:>5} {b:>5} {c:>5}" for s, st, sec, a, b, c in summary]
        print("\n".join(lines))
        if log:
            log.write("\n".join(lines) + "\n")
            log.close()
    if any(row[1].startswith("FAILED") for row in summary):
        return 1
    if any(row[1] == "missed targets" for row in summary):
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
