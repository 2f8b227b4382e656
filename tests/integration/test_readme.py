"""README.rst's examples must work when pasted."""
import os
import re
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import REPO_ROOT

ROOT = str(REPO_ROOT)


def literal_block_after(text: str, marker: str) -> str:
    """The indented literal block that follows the paragraph containing ``marker``."""
    rest = text[text.index(marker):].split("::\n\n", 1)[1]
    lines = []
    for line in rest.splitlines():
        if line and not line.startswith(" "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip() + "\n"


EXAMPLES = REPO_ROOT / "examples" / "readme"
README_SCRIPTS = ["hello.py", "media.py", "async_pets.py", "shaped_errors.py", "errors.py", "secure.py", "tokens.py", "models.py", "persist.py", "call.py", "local.py",
                  "pets3.py"]


def test_every_example_of_the_readme_is_a_file_of_examples_readme():
    readme = (REPO_ROOT / "README.rst").read_text(encoding="utf-8")
    named = re.findall(r"Save this as ``(\w+\.py)``", readme)
    assert sorted(named) == sorted(README_SCRIPTS) == sorted(p.name for p in EXAMPLES.glob("*.py"))


@pytest.mark.parametrize("script", README_SCRIPTS)
def test_example_prints_what_the_readme_says(tmp_path, script):
    readme = open(os.path.join(ROOT, "README.rst"), encoding="utf-8").read()
    section = readme[readme.index(f"Save this as ``{script}``"):]
    shown = literal_block_after(section, f"Save this as ``{script}``")
    assert (EXAMPLES / script).read_text(encoding="utf-8") == shown, f"examples/readme/{script} differs from README.rst"
    (tmp_path / script).write_text(shown)
    expected = literal_block_after(section, "It prints")
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == expected


def command_sample(readme: str, command: str) -> list[str]:
    """The lines a ``$ command`` sample of README.rst shows it printing (up to a '...')."""
    lines = readme[readme.index(f"        $ {command}\n"):].splitlines()
    shown = []
    for line in lines[1:]:
        if not line.startswith("        "):  # the block ends with its indentation
            break
        shown.append(line[8:])
    return [line for line in shown if line != "..."]


def test_the_klue_validate_and_routes_samples_are_what_they_print():
    readme = (REPO_ROOT / "README.rst").read_text(encoding="utf-8")
    klue = [sys.executable, "-m", "klue.cli"]
    shown = command_sample(readme, "klue validate broken.yaml")
    out = subprocess.run([*klue, "validate", "broken.yaml"], cwd=EXAMPLES, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and out.stdout.splitlines() == shown, out.stdout + out.stderr
    shown = command_sample(readme, "klue routes specs/petstore.yaml")
    out = subprocess.run([*klue, "routes", "specs/petstore.yaml"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.splitlines()[:len(shown)] == shown, out.stdout + out.stderr
