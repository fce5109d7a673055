#!/usr/bin/env python3
"""Task runner for the book. Needs only Python 3.11, pip and Node/npm; does all set-up itself.

    python3 dev.py book [--clean]       set up, execute changed chapters (in parallel), build _build/html
    python3 dev.py test                 set up, build, run every test (what CI runs)
    python3 dev.py notebooks [paths]    re-execute notebooks and save their outputs (for nbval)
    python3 dev.py nbval [paths]        nbval only: re-run notebooks and compare with their stored outputs
    python3 dev.py portability [paths]  nbval under a different numeric environment (other CPU)
    python3 dev.py bench                benchmark table: notebook times, live redraw latency
    python3 dev.py bench --build        build times: cold, warm, after a prose edit, after a dlbook edit
    python3 dev.py setup | assets       only the virtual environment | only the front-end files
"""
import hashlib
import json
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
CACHE = ROOT / "_build" / ".jupyter_cache"   # Jupyter Book's execution cache (execute_notebooks: cache)


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


# The numeric code paths every kernel the tooling starts is pinned to, so that a printed number
# is the same on any x86-64 machine of the last decade (all have AVX2; newer ones have AVX-512,
# whose kernels round differently). Each variable is checked to take effect by
# tests/test_numeric_env.py. Threads: one per kernel (tiny models run fastest that way, and
# nbval runs two kernels on a 2-core machine; a parallel reduction can also reorder a sum).
NUMERIC_ENV = {
    "ATEN_CPU_CAPABILITY": "avx2",          # torch's own vectorized kernels (default: the best ISA)
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",      # torch's BLAS/VML is MKL: no AVX-512 code paths
    "MKL_CBWR": "AVX2",                     # MKL conditional numerical reproducibility, AVX2 branch
    "ONEDNN_MAX_CPU_ISA": "AVX2",           # oneDNN (some torch convolutions) likewise
    "OPENBLAS_CORETYPE": "Haswell",         # NumPy's BLAS (OpenBLAS): its AVX2 kernels
    "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",  # NumPy's SIMD loops: AVX2 (X86_V3) at most
    "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
}
# A deliberately different numeric environment for the portability check (`dev.py test`
# re-runs nbval under it): if a stored output changes here, it can change on a reader's CPU.
PERTURBED_ENV = {
    "ATEN_CPU_CAPABILITY": "default",       # torch without SIMD kernels
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
    "MKL_CBWR": "COMPATIBLE",
    "ONEDNN_MAX_CPU_ISA": "SSE41",
    "OPENBLAS_CORETYPE": "Nehalem",         # SSE-only OpenBLAS kernels
    "NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL AVX512_SPR",  # NumPy at its SSE4.2 baseline
    "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "2",
}


def kernel_env(numeric=NUMERIC_ENV):
    """Environment for kernels the tooling starts: the pinned numeric code paths above (or the
    perturbed ones), the checkout's own dlbook first on the path, no Agg backend."""
    env = dict(os.environ)
    for key in {*NUMERIC_ENV, *PERTURBED_ENV, "OPENBLAS_L2_SIZE"}:   # OPENBLAS_L2_SIZE: set on some
        env.pop(key, None)                   # machines here; the core type is ours to pin
    env.update(numeric)
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.pop("MPLBACKEND", None)              # Agg in the kernel would swallow inline figures
    env.pop("DLBOOK_STATIC_FRAMES", None)
    return env


def book_env():
    env = kernel_env()
    env["DLBOOK_STATIC_FRAMES"] = "1"       # interactive figures embed their precomputed frames
    return env


def execution_digest(env):
    """A digest of everything an executed chapter depends on besides its own code cells: the
    dlbook sources, data/, the pinned requirements and the numeric environment. The build's
    execution cache is emptied whenever it changes (also by tools/sphinx_dlbook.py, so a plain
    `jupyter-book build` can never serve outputs computed with an older dlbook either)."""
    h = hashlib.sha256()
    files = [p for d in ("dlbook", "data") for p in (ROOT / d).rglob("*")
             if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    for p in sorted(files) + [ROOT / "requirements.txt", ROOT / "pyproject.toml"]:
        h.update(p.relative_to(ROOT).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    numeric = {k: env.get(k) for k in [*NUMERIC_ENV, "DLBOOK_STATIC_FRAMES"]}
    h.update(json.dumps(numeric, sort_keys=True).encode())
    return h.hexdigest()[:20]


def toc_notebooks():
    import re
    return [ROOT / (f + ".ipynb") for f in re.findall(r"file:\s*(\S+)", (ROOT / "_toc.yml").read_text())
            if (ROOT / (f + ".ipynb")).exists()]


def book(clean=False):
    """Build the static site with zero warnings allowed. Chapters whose code or dependencies
    changed since the last build are executed first, in parallel, into Jupyter Book's execution
    cache; the build then takes every chapter's outputs from that cache. --clean starts afresh."""
    setup()
    assets()
    t0 = time.perf_counter()
    if clean and (ROOT / "_build").exists():
        shutil.rmtree(ROOT / "_build")
    run([PY, __file__, "_execute-into-cache"], env=book_env())
    cmd = [BIN / "jupyter-book", "build", ROOT, "-W", "--keep-going", *(["--all"] if clean else [])]
    run(cmd, env=book_env())
    print(f"\nBuilt in {time.perf_counter() - t0:.0f} s. Open {SITE / 'index.html'} in a browser, or "
          f"serve it: {PY} -m http.server -d {SITE} 8000  (then http://127.0.0.1:8000)")


def _execute_for_cache(path):
    """Worker: execute one notebook as Jupyter Book would (its folder as working directory)."""
    import nbformat
    from jupyter_cache.executors.utils import single_nb_execution
    nb = nbformat.read(path, as_version=4)
    result = single_nb_execution(nb, cwd=str(Path(path).parent), timeout=300, allow_errors=False,
                                 meta_override=True)
    return path, nb, result.time, result.exc_string if result.err is not None else None


def execute_into_cache():
    """(In the venv, with the book's environment.) Execute the chapters the cache has no current
    outputs for, on all cores, and store them in the cache Jupyter Book reads."""
    from concurrent.futures import ProcessPoolExecutor

    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    digest = execution_digest(os.environ)
    stamp = CACHE / "dlbook-digest"
    if CACHE.exists() and not (stamp.exists() and stamp.read_text() == digest):
        print("dlbook, data, requirements or the numeric environment changed: emptying the execution cache")
        shutil.rmtree(CACHE)
    CACHE.mkdir(parents=True, exist_ok=True)
    cache = get_cache(CACHE)
    stamp.write_text(digest)
    todo = []
    for path in toc_notebooks():
        try:
            cache.match_cache_notebook(nbformat.read(path, as_version=4))
        except KeyError:
            todo.append(str(path))
    print(f"execution cache: {len(toc_notebooks()) - len(todo)} chapters current, {len(todo)} to execute", flush=True)
    if not todo:
        return
    failed = []
    with ProcessPoolExecutor(max_workers=min(len(todo), os.cpu_count() or 1)) as pool:
        for path, nb, seconds, error in pool.map(_execute_for_cache, todo):
            name = Path(path).relative_to(ROOT)
            if error:
                failed.append(name)
                print(f"{name}: FAILED\n{error}", flush=True)
                continue
            cache.cache_notebook_bundle(CacheBundleIn(nb, path, data={"execution_seconds": seconds}),
                                        check_validity=False, overwrite=True)
            print(f"{name}: executed in {seconds:.1f} s", flush=True)
    if failed:
        sys.exit(f"execution failed: {', '.join(map(str, failed))}")


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
    """Build the site, then run unit tests, nbval over every notebook and the browser test, then
    the portability check (nbval again under PERTURBED_ENV). Flags: --no-build, --no-portability."""
    ensure_chromium()
    flags = {a for a in args if a in ("--no-build", "--no-portability")}
    args = [a for a in args if a not in flags]
    if "--no-build" in flags:
        setup()
    else:
        book(clean=os.environ.get("CI") == "true")   # CI builds from scratch, as on a fresh clone
    codes = [pytest_run([*NBVAL, "tests", "chapters", *args], kernel_env())]
    if "--no-portability" not in flags:
        codes.append(portability(args))
    sys.exit(max(codes))


NBVAL = [PY, "-m", "pytest", "-n", "2", "--dist", "loadfile", "--nbval",
         "--nbval-sanitize-with", ROOT / "tests" / "nbval_sanitize.cfg"]


def pytest_run(cmd, env):
    print("+", " ".join(map(str, cmd)), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env).returncode


def portability(args=()):
    """nbval over the chapters again, in kernels with other SIMD levels, BLAS kernels and thread
    counts (PERTURBED_ENV): a stored output that changes here would change on another CPU."""
    chapters = [a for a in args if a.endswith(".ipynb")] or ["chapters"]
    print("\nPortability check: every chapter's stored outputs, re-run under", PERTURBED_ENV, flush=True)
    return pytest_run([*NBVAL, *chapters], kernel_env(PERTURBED_ENV))


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
    """Re-execute notebooks (default: all chapters) in the venv and save them for nbval; several
    notebooks run in parallel, one kernel per core."""
    setup()
    if Path(sys.prefix).resolve() != VENV.resolve():
        run([PY, __file__, "notebooks", *paths], env=kernel_env())
        return
    from concurrent.futures import ProcessPoolExecutor
    paths = paths or sorted(str(p) for p in (ROOT / "chapters").glob("*.ipynb"))
    env = kernel_env()                       # kernels inherit this process's environment
    os.environ.clear()
    os.environ.update(env)
    with ProcessPoolExecutor(max_workers=min(len(paths), os.cpu_count() or 1)) as pool:
        for p, seconds in zip(paths, pool.map(execute_notebook, paths)):
            print(f"{p}: executed in {seconds:.1f} s, {Path(p).stat().st_size / 1024:.0f} KB", flush=True)


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
        book(clean="--clean" in args)
    elif task == "_execute-into-cache":
        execute_into_cache()
    elif task == "test":
        test(args)
    elif task == "notebooks":
        notebooks(args)
    elif task == "nbval":
        setup()
        sys.exit(pytest_run([*NBVAL, *(args or ["chapters"])], kernel_env()))
    elif task == "portability":
        setup()
        sys.exit(portability(args))
    elif task == "bench":
        setup()
        if "--build" in args:
            run([PY, ROOT / "bench" / "build_bench.py"])
        else:
            run([PY, ROOT / "bench" / "bench.py", *args], env=kernel_env())
    else:
        sys.exit(f"unknown task {task!r}\n{__doc__}")


if __name__ == "__main__":
    main(sys.argv[1:])
