"""Import time: what ``import klue`` and the ``klue`` command cost a process.

Each figure is the median wall time of fresh interpreters (``python -c``,
``klue --help``) run one after another, so the file cache is warm; the
plain interpreter's start is measured the same way and shown beside them.
Also listed: how many modules ``import klue`` loads, and whether Flask,
requests or jsonschema's IRI grammar stack (rfc3987_syntax, lark) are among
them (they must not be: each side imports its own stack when it is used).

    python bench/bench_import.py [--smoke] [--rounds N]
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import _common as c

TARGET_IMPORT_S = 0.4
TARGET_HELP_S = 0.5
HEAVY = ("flask", "requests", "jsonschema", "rfc3987_syntax", "lark", "bravado_core")
PROBE = ("import sys, json, klue; print(json.dumps([len(sys.modules), "
         f"sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})]))")


def wall_time(command: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=60)
        times.append(time.perf_counter() - started)
    return c.median(times)


def main() -> int:
    args = c.parser(__doc__).parse_args()
    runs = 3 if args.smoke else 15 * c.rounds(args)
    klue_command = shutil.which("klue") or str(Path(sys.executable).with_name("klue"))
    c.print_environment("bench_import: import time", [["method", f"median of {runs} fresh processes each"]])
    bare = wall_time([sys.executable, "-c", "pass"], runs)
    imported = wall_time([sys.executable, "-c", "import klue"], runs)
    helped = wall_time([klue_command, "--help"], runs)
    modules, heavy = json.loads(subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True,
                                               text=True, timeout=60).stdout)
    c.print_table("import time", ["what", "seconds", "without the interpreter's start"], [
        ["python -c pass", f"{bare:.3f}", "-"],
        ["python -c 'import klue'", f"{imported:.3f}", f"{imported - bare:.3f}"],
        ["klue --help", f"{helped:.3f}", f"{helped - bare:.3f}"],
    ])
    print(f"\nimport klue loads {modules} modules; heavy ones among them: {', '.join(heavy) or 'none'}")
    verdicts = c.Verdicts()
    verdicts.check(f"import klue at most {TARGET_IMPORT_S:g} s", imported <= TARGET_IMPORT_S, f"{imported:.3f} s")
    verdicts.check(f"klue --help at most {TARGET_HELP_S:g} s", helped <= TARGET_HELP_S, f"{helped:.3f} s")
    verdicts.check("import klue loads no Flask, requests, jsonschema nor bravado-core", not heavy,
                   ", ".join(heavy) or "none")
    return c.finish(verdicts, args)


if __name__ == "__main__":
    sys.exit(main())
