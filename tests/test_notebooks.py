"""House rules every chapter notebook follows (checked on the committed files)."""
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.ipynb"))
REPO_URL = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]

SETUP_CELL = f'''# Set-up for Colab: fetch the book's code and data. Locally this cell does nothing.
import sys
if "google.colab" in sys.modules:
    import subprocess
    subprocess.run(["git", "clone", "--depth", "1", "{REPO_URL}", "/content/dlbook"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", "/content/dlbook"], check=True)
    sys.path.insert(0, "/content/dlbook")
    from google.colab import output
    output.enable_custom_widget_manager()'''


def _cells(path):
    nb = json.loads(path.read_text())
    return nb, [(c["cell_type"], "".join(c["source"]), c) for c in nb["cells"]]


def _toc_files():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [ch["file"] for part in toc["parts"] for ch in part["chapters"]
            if ch["file"].startswith("chapters/")]


def test_there_is_at_least_one_chapter():
    assert CHAPTERS


def test_toc_lists_exactly_the_chapters_that_exist():
    assert sorted(_toc_files()) == sorted(f"chapters/{p.stem}" for p in CHAPTERS)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_house_rules(path):
    assert path.stat().st_size < 1024 * 1024, "keep committed notebooks under 1 MB"
    nb, cells = _cells(path)
    code = [(src, c) for kind, src, c in cells if kind == "code"]
    assert code[0][0] == SETUP_CELL, "the first cell is the guarded Colab set-up cell"
    imports = code[1][0]
    assert "from dlbook import" in imports and "%matplotlib inline" in imports
    for src, _ in code[2:]:
        assert not re.search(r"^\s*(import |from \S+ import )", src, re.M), f"import outside the import cell:\n{src}"
        assert "!pip" not in src and "%pip" not in src
    for src, _ in code:
        assert "import *" not in src
        assert len(src.splitlines()) <= 25, f"code cell over 25 lines belongs in dlbook:\n{src}"
    assert "widgets" not in nb["metadata"], "no stored widget state"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_notebook_is_saved_executed_without_errors_or_frames(path):
    _, cells = _cells(path)
    for kind, src, c in cells:
        if kind != "code":
            continue
        assert c["execution_count"] is not None, f"cell not executed:\n{src}"
        for out in c["outputs"]:
            assert out["output_type"] != "error", f"error output in:\n{src}"
            html = "".join(out.get("data", {}).get("text/html", ""))
            assert "class=\"dlbook-frames\"" not in html, "static frames belong to the build, not the notebook"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_structure(path):
    _, cells = _cells(path)
    md = [src for kind, src, _ in cells if kind == "markdown"]
    text = "\n".join(md)
    assert md[0].lstrip().startswith("# ") or text.count("\n# ") >= 1, "the chapter has a title"
    headings = [line.strip() for line in text.splitlines() if line.startswith("## ")]
    assert headings[-2:] == ["## Summary", "## Exercises"], "the chapter ends with Summary then Exercises"
    after = text[text.index("## Exercises"):]
    assert after.count(":class: dropdown") >= 2, "exercise solutions sit in dropdowns"
    code = "\n".join(src for kind, src, _ in cells if kind == "code")
    assert code.count("widgets.interactive(") >= 2, "at least two interactive figures"
