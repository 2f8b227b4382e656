"""The demo's Dockerfile, replayed step by step where no Docker engine runs.

This machine (and CI's) has the docker client but no engine, so the test
reads the Dockerfile and does what each instruction would: COPY copies the
repository's files (minus .dockerignore) into a folder standing for the
image's /app, RUN runs the pip install in a fresh virtualenv there (its
other commands, which set up the system user and /data, are checked to be
exactly those the test knows), ENV is applied with /data mapped to a
temporary folder, and CMD is run with the address the test chose. Then
HEALTHCHECK's command must pass, the demo must answer, and STOPSIGNAL must
stop it with exit status 0. A file the image does not copy, an extra the
install lacks or a command that does not start fails here, as it would in
``docker build`` / ``docker run``."""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.cli.test_cli import DEMO_KEY, wait_until_up
from tests.conftest import REPO_ROOT
from tests.live import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(480)]

#: The system set-up RUN lines may do; the test does their equivalent itself (a /data folder).
SYSTEM_SETUP = ("useradd --system --uid 10001 --no-create-home klue", "mkdir /data", "chown klue /data")


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        if raw.lstrip().startswith("#") and not current:
            continue
        current += raw.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        if current.strip():
            lines.append(current.strip())
        current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def ignored(relative: str, patterns: list[str]) -> bool:
    parts = relative.split("/")
    return any(fnmatch.fnmatch(relative, p) or fnmatch.fnmatch(parts[0], p) or
               (p.startswith("**/") and any(fnmatch.fnmatch(part, p[3:]) for part in parts)) for p in patterns)


def copy_into(sources: list[str], destination: str, app: Path, patterns: list[str]) -> None:
    target = app / destination
    for source in sources:
        origin = REPO_ROOT / source.rstrip("/")
        assert origin.exists(), f"COPY {source}: no such file in the build context"
        files = [origin] if origin.is_file() else sorted(p for p in origin.rglob("*") if p.is_file())
        for file in files:
            relative = file.relative_to(REPO_ROOT).as_posix()
            if ignored(relative, patterns):
                continue
            inside = file.relative_to(origin) if origin.is_dir() else Path(file.name)
            dest = (target / inside) if (destination.endswith("/") or origin.is_dir()) else target
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, dest)


def test_the_dockerfile_builds_and_runs_the_demo(tmp_path):
    steps = instructions(REPO_ROOT / "Dockerfile")
    patterns = [line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    kinds = [kind for kind, _ in steps]
    assert kinds[0] == "FROM" and steps[0][1].startswith("python:3.11"), steps[0]
    assert {"USER", "EXPOSE", "HEALTHCHECK", "STOPSIGNAL", "CMD"} <= set(kinds)

    root = tmp_path / "image"  # stands for the image's /
    venv = tmp_path / "venv"   # stands for the image's Python
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    env = {"PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    workdir, user = root, None
    for kind, args in steps:
        if kind == "ENV":
            for assignment in shlex.split(args):
                name, _, value = assignment.partition("=")
                env[name] = str(root) + value if value.startswith("/data") else value
        elif kind == "WORKDIR":
            workdir = root / args.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif kind == "COPY":
            *sources, destination = shlex.split(args)
            copy_into(sources, destination, workdir, patterns)
        elif kind == "RUN":
            for command in (c.strip() for c in args.split("&&")):
                if command in SYSTEM_SETUP:
                    if command.startswith("mkdir"):
                        (root / "data").mkdir()
                    continue
                assert command.startswith("pip install "), f"RUN {command!r}: the test does not know it"
                done = subprocess.run(command, shell=True, cwd=workdir, env=env, capture_output=True, text=True,
                                      timeout=300)
                assert done.returncode == 0, f"RUN {command}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        elif kind == "USER":
            user = args
        elif kind == "EXPOSE":
            exposed = int(args)
        elif kind == "HEALTHCHECK":
            health = json.loads(args.split(" CMD ", 1)[1])
        elif kind == "STOPSIGNAL":
            stop_signal = getattr(signal, args)
        elif kind == "CMD":
            command = json.loads(args)
        else:
            assert kind in ("FROM", "VOLUME"), f"{kind}: the test does not know this instruction"
    assert user == "klue" and stop_signal == signal.SIGTERM

    # the CMD, on the address the test chose (inside a container it listens on 0.0.0.0)
    port = free_port()
    assert command[command.index("--port") + 1] == str(exposed)
    command[command.index("--port") + 1] = str(port)
    command[command.index("--host") + 1] = "127.0.0.1"
    command[0] = str(venv / "bin" / command[0])
    server = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/ping", server)
        probe = [str(venv / "bin" / health[0]), *(a.replace(f":{exposed}/", f":{port}/") for a in health[1:])]
        assert subprocess.run(probe, env=env, timeout=30).returncode == 0
        base = f"http://127.0.0.1:{port}"
        r = requests.post(f"{base}/gateway/pets", json={"name": "Rex", "kind": "dog"}, headers=DEMO_KEY, timeout=10)
        assert r.status_code == 201, r.text
        assert requests.get(f"{base}/v1/docs", timeout=5).text.count("swagger-ui-bundle.js") == 1  # the docs extra
        assert (root / "data" / "petstore.sqlite3").exists()  # the volume holds the data
    finally:
        server.send_signal(stop_signal)
        try:
            out, err = server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            raise
    assert server.returncode == 0, err[-3000:]
    installed = subprocess.run([str(venv / "bin" / "python"), "-c", "import klue; print(klue.__file__)"],
                               cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60).stdout
    assert str(tmp_path / "venv") in installed  # the image's own install, not this checkout


def test_dockerignore_keeps_the_context_small():
    patterns = [line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for path in (".git/config", ".venv/bin/python", "klue/__pycache__/api.cpython-311.pyc", "petstore.sqlite3",
                 "examples/petstore.sqlite3", "bench/bench_http.py", "tests/conftest.py"):
        assert ignored(path, patterns), path
    for path in ("klue/api.py", "specs/petstore.yaml", "examples/petstore.py", "README.rst", "LICENSE"):
        assert not ignored(path, patterns), path
