"""The warm build never serves stale outputs: `dev.py book` re-executes a chapter when dlbook
changes, skips execution when nothing it depends on changed, and reuses the executed outputs
after a markdown-only edit. Runs on a one-chapter copy of the book in a temporary folder (with the
real virtual environment and npm packages linked in)."""
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = {
    "cells": [
        {"cell_type": "markdown", "id": "title", "metadata": {}, "source": "# Probe\n\nMARKDOWN-ONE"},
        {"cell_type": "code", "id": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": "from dlbook import _probe\nprint('probe says', _probe.value())"},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                 "language_info": {"name": "python"}},
    "nbformat": 4, "nbformat_minor": 5,
}


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    book = tmp_path_factory.mktemp("book")
    for name in ("dev.py", "_config.yml", "requirements.txt", "pyproject.toml", "package-lock.json", "README.md",
                 "references.bib"):
        shutil.copy(ROOT / name, book / name)
    for name in ("dlbook", "data", "tools", "assets"):
        shutil.copytree(ROOT / name, book / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in (".venv", "node_modules"):
        (book / name).symlink_to(ROOT / name, target_is_directory=True)
    (book / "intro.md").write_text("# Probe book\n")
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nparts:\n  - caption: Probe\n"
                                   "    chapters:\n      - file: chapters/probe\n")
    (book / "chapters").mkdir()
    (book / "chapters" / "probe.ipynb").write_text(json.dumps(NOTEBOOK))
    (book / "dlbook" / "_probe.py").write_text('def value():\n    return "VALUE-ONE"\n')
    return book


def build(book, *args):
    out = subprocess.run([sys.executable, book / "dev.py", "book", *args], cwd=book,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    page = (book / "_build" / "html" / "chapters" / "probe.html").read_text()
    return out.stdout + out.stderr, page


def test_warm_builds_execute_only_what_changed(book):
    log, page = build(book, "--clean")
    assert "1 to execute" in log and "VALUE-ONE" in page and "MARKDOWN-ONE" in page

    log, page = build(book)                      # nothing changed: nothing executes
    assert "1 chapters current, 0 to execute" in log and "Executing notebook" not in log
    assert "VALUE-ONE" in page

    nb = book / "chapters" / "probe.ipynb"       # markdown only: outputs come from the cache
    nb.write_text(nb.read_text().replace("MARKDOWN-ONE", "MARKDOWN-TWO"))
    log, page = build(book)
    assert "0 to execute" in log and "Executing notebook" not in log
    assert "MARKDOWN-TWO" in page and "VALUE-ONE" in page

    # A dlbook change that alters the output: the next warm build must show the new output.
    (book / "dlbook" / "_probe.py").write_text('def value():\n    return "VALUE-TWO"\n')
    log, page = build(book)
    assert "emptying the execution cache" in log and "1 to execute" in log
    assert "VALUE-TWO" in page and "VALUE-ONE" not in page


def test_plain_jupyter_book_build_also_notices_a_dlbook_change(book):
    """Without dev.py, the Sphinx extension itself empties the cache on a dlbook change."""
    build(book)
    (book / "dlbook" / "_probe.py").write_text('def value():\n    return "VALUE-THREE"\n')
    spec = importlib.util.spec_from_file_location("probe_dev", book / "dev.py")
    dev = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev)
    env = dev.book_env()                         # the copy's environment, as dev.py would set it
    out = subprocess.run([book / ".venv" / "bin" / "jupyter-book", "build", book, "-W", "--keep-going"],
                         cwd=book, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    page = (book / "_build" / "html" / "chapters" / "probe.html").read_text()
    assert "VALUE-THREE" in page and "VALUE-TWO" not in page
