#!/usr/bin/env python3
"""Task runner for the book. Needs only Python 3.11, pip and Node/npm; does all set-up itself.

    python3 dev.py book                 set up, execute every notebook, build _build/html
    python3 dev.py test                 set up, build, run every test (what CI runs)
    python3 dev.py notebooks [paths]    re-execute notebooks and save their outputs (for nbval)
    python3 dev.py bench                benchmark table: notebook times, live redraw latency
    python3 dev.py setup | assets       only the virtual environment | only the front-end files
"""
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
VENDOR = ROOT / "vendor"
SITE = ROOT / "_build" / "html"


def run(cmd, **kw):
    print("+", " ".join(map(str, cmd)), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, **kw)


def digest(*paths):
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()


def setup():
    """Create .venv and install the pinned requirements plus dlbook (editable); skip if current."""
    if sys.version_info[:2] != (3, 11):
        print(f"warning: the book is pinned and tested on Python 3.11, this is {sys.version.split()[0]}")
    stamp = VENV / ".dlbook-installed"
    want = digest(ROOT / "requirements.txt", ROOT / "pyproject.toml")
    if stamp.exists() and stamp.read_text() == want and PY.exists():
        return
    if not PY.exists():
        run([sys.executable, "-m", "venv", VENV])
    run([PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "-r", ROOT / "requirements.txt"])
    run([PY, "-m", "pip", "install", "--disable-pip-version-check", "-q", "--no-deps", "-e", ROOT])
    stamp.write_text(want)


def assets():
    """Install the pinned npm packages and copy what the site serves itself into vendor/."""
    stamp = ROOT / "node_modules" / ".dlbook-installed"
    want = digest(ROOT / "package-lock.json")
    if not (stamp.exists() and stamp.read_text() == want):
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is needed to fetch MathJax and the widget manager: install Node.js/npm")
        run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=ROOT)
        stamp.write_text(want)
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    # MathJax 3: the combined TeX->CHTML component plus what it loads lazily (fonts, extensions).
    shutil.copytree(ROOT / "node_modules" / "mathjax" / "es5", VENDOR / "mathjax")
    # The widget manager that renders any embedded widget state without a kernel, and its fonts.
    dist = ROOT / "node_modules" / "@jupyter-widgets" / "html-manager" / "dist"
    (VENDOR / "html-manager").mkdir(parents=True)
    for f in dist.iterdir():
        if f.name == "embed.js" or f.suffix in (".woff", ".woff2", ".ttf", ".eot", ".svg"):
            shutil.copy(f, VENDOR / "html-manager" / f.name)


def kernel_env():
    """Environment for kernels the tooling starts: one BLAS/torch thread each (tiny models run
    fastest single-threaded, and nbval runs two kernels on a 2-core machine), no Agg backend."""
    env = dict(os.environ)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1",
               PYDEVD_DISABLE_FILE_VALIDATION="1")
    env.pop("MPLBACKEND", None)              # Agg in the kernel would swallow inline figures
    env.pop("DLBOOK_STATIC_FRAMES", None)
    return env


def book_env():
    env = kernel_env()
    env["DLBOOK_STATIC_FRAMES"] = "1"       # interactive figures embed their precomputed frames
    return env


def book():
    """Execute every notebook afresh and build the static site with zero warnings allowed."""
    setup()
    assets()
    t0 = time.perf_counter()
    run([BIN / "jupyter-book", "build", ROOT, "--all", "-W", "--keep-going"], env=book_env())
    print(f"\nBuilt in {time.perf_counter() - t0:.0f} s. Open {SITE / 'index.html'} in a browser, or "
          f"serve it: {PY} -m http.server -d {SITE} 8000  (then http://127.0.0.1:8000)")


def ensure_chromium():
    """The browser test needs Debian's chromium; install it when missing (as root)."""
    if shutil.which("chromium"):
        return
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        run(["apt-get", "update", "-q"])
        run(["apt-get", "install", "-y", "-q", "chromium"], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        return
    sys.exit("The browser test needs Chromium: `sudo apt-get install chromium` (Debian/Ubuntu).")


def test(args):
    """Build the site, then run unit tests, nbval over every notebook, and the browser test."""
    ensure_chromium()
    if "--no-build" in args:
        args = [a for a in args if a != "--no-build"]
        setup()
    else:
        book()
    env = kernel_env()
    cmd = [PY, "-m", "pytest", "-n", "2", "--dist", "loadfile", "--nbval",
           "--nbval-sanitize-with", ROOT / "tests" / "nbval_sanitize.cfg", "tests", "chapters", *args]
    print("+", " ".join(map(str, cmd)), flush=True)
    sys.exit(subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env).returncode)


def execute_notebook(path):
    """Run one notebook top to bottom in a fresh kernel and save it with its outputs."""
    import nbformat
    from nbclient import NotebookClient
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(Path(path).parent)}})
    t0 = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - t0
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})   # one stream output per print run
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds


def notebooks(paths):
    """Re-execute notebooks (default: all chapters) in the venv and save them for nbval."""
    setup()
    if Path(sys.prefix).resolve() != VENV.resolve():
        run([PY, __file__, "notebooks", *paths], env=kernel_env())
        return
    env = kernel_env()                       # kernels inherit this process's environment
    os.environ.clear()
    os.environ.update(env)
    for p in paths or sorted(str(p) for p in (ROOT / "chapters").glob("*.ipynb")):
        print(f"{p}: executed in {execute_notebook(p):.1f} s, {Path(p).stat().st_size / 1024:.0f} KB",
              flush=True)


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(__doc__)
        return
    task, args = argv[0], argv[1:]
    if task == "setup":
        setup()
    elif task == "assets":
        assets()
    elif task == "book":
        book()
    elif task == "test":
        test(args)
    elif task == "notebooks":
        notebooks(args)
    elif task == "bench":
        setup()
        run([PY, ROOT / "bench" / "bench.py", *args], env=kernel_env())
    else:
        sys.exit(f"unknown task {task!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
