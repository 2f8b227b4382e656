"""README.rst's examples must work when pasted."""
import os
import subprocess
import sys
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def literal_block_after(text: str, marker: str) -> str:
    """The indented literal block that follows the paragraph containing ``marker``."""
    rest = text[text.index(marker):].split("::\n\n", 1)[1]
    lines = []
    for line in rest.splitlines():
        if line and not line.startswith(" "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip() + "\n"


def test_hello_example_prints_what_the_readme_says(tmp_path):
    readme = open(os.path.join(ROOT, "README.rst"), encoding="utf-8").read()
    (tmp_path / "hello.py").write_text(literal_block_after(readme, "Save this as ``hello.py``"))
    expected = literal_block_after(readme, "It prints")
    env = dict(os.environ, PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, "hello.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == expected
