"""Build benchmark: how long `dev.py book` takes cold, warm with nothing changed, after editing
one chapter's markdown, and after editing one dlbook module. Runs on a copy of the book in a
temporary folder (the real virtual environment and npm packages linked in), so the working tree
and its build cache are left alone. `python3 dev.py bench --build`."""
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPY = ["dev.py", "_config.yml", "_toc.yml", "intro.md", "requirements.txt", "pyproject.toml",
        "package-lock.json", "README.md", "dlbook", "data", "tools", "assets", "chapters"]


def build(book, *args):
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, book / "dev.py", "book", *args], cwd=book, capture_output=True, text=True)
    if out.returncode:
        sys.exit(out.stdout[-3000:] + out.stderr[-3000:])
    executed = [line.split(":")[0] for line in out.stdout.splitlines() if ": executed in " in line]
    return time.perf_counter() - t0, executed


def main():
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp)
        for name in COPY:
            (shutil.copytree if (ROOT / name).is_dir() else shutil.copy)(ROOT / name, book / name)
        for name in (".venv", "node_modules"):
            (book / name).symlink_to(ROOT / name, target_is_directory=True)
        chapters = sorted((book / "chapters").glob("*.ipynb"))
        rows = [("cold (--clean)", *build(book, "--clean")), ("warm, nothing changed", *build(book))]
        nb = json.loads(chapters[-1].read_text())                # one chapter's prose
        md = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
        md["source"] = "".join(md["source"]) + "\n\nAn edited sentence."
        chapters[-1].write_text(json.dumps(nb))
        rows.append((f"warm, markdown of {chapters[-1].stem} edited", *build(book)))
        with open(book / "dlbook" / "plot.py", "a") as f:       # one dlbook module
            f.write("\n# an edit\n")
        rows.append(("warm, dlbook/plot.py edited", *build(book)))
    print("| build | seconds | chapters executed |\n|---|---:|---:|")
    for name, seconds, executed in rows:
        print(f"| {name} | {seconds:.0f} | {len(executed)} |")


if __name__ == "__main__":
    main()
