"""Local Sphinx extension for the book's HTML (loaded from _config.yml `local_extensions`).

* Jupyter Book 1 always loads sphinx-thebe, which inserts its `const THEBE_JS_URL` script twice
  (a SyntaxError in every page's console) and points at a CDN. The book does not use thebe
  (launch_buttons.thebe is false), so its scripts are dropped from every page.
* pydata-sphinx-theme logs "invalid theme mode" unless `default_mode` is set: use light.
* Jupyter Book's root `index.html` is a bare redirect with no icon link, so a browser may ask for
  `/favicon.ico` before it follows it: the book's favicon is also written there.
* Executed outputs come from Jupyter Book's cache, which keys a notebook by its code cells
  only. Whenever dlbook, data/, the requirements or the numeric environment change (their digest,
  `dev.execution_digest`), the cache is emptied and every page is re-read, so a warm build never
  shows outputs computed by older code.
* The static frames of every interactive figure arrive inlined in the page (MBs of base64);
  they are moved into `_static/dlbook-frames/` (one PNG per frame, named by its hash) and
  fetched when the reader first moves a control (`dlbook.widgets.externalize_frames`).
"""
import hashlib
import importlib.util
import os
import shutil
from pathlib import Path


def _dev(srcdir):
    spec = importlib.util.spec_from_file_location("dlbook_dev", Path(srcdir) / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check_execution_cache(app, config):
    """Empty the execution cache when what the outputs depend on changed since it was filled."""
    dev = _dev(app.srcdir)
    digest = dev.execution_digest(os.environ)
    config.dlbook_execution_digest = digest      # a changed value makes Sphinx re-read every page
    cache = Path(config.nb_execution_cache_path or Path(app.outdir).parent / ".jupyter_cache")
    stamp = cache / "dlbook-digest"
    if cache.exists() and not (stamp.exists() and stamp.read_text() == digest):
        shutil.rmtree(cache)
    cache.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest)


def _is_thebe(script):
    name = str(getattr(script, "filename", script) or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in name or "THEBE_JS_URL" in body


def _page_context(app, pagename, templatename, context, doctree):
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe(s)]
    context.setdefault("default_mode", "light")


def _externalize_frames(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    from dlbook.widgets import externalize_frames
    out = Path(app.outdir)
    frames_dir = out / "_static" / "dlbook-frames"
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if 'class="dlbook-frames"' not in text:
            continue

        def write_png(png, page=page):
            path = frames_dir / (hashlib.sha256(png).hexdigest()[:24] + ".png")
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(png)
            return os.path.relpath(path, page.parent).replace(os.sep, "/")
        page.write_text(externalize_frames(text, write_png), encoding="utf-8")


def _root_favicon(app, exception):
    icon = app.config.html_favicon
    if exception is None and app.builder.format == "html" and icon:
        shutil.copyfile(Path(app.srcdir) / icon, Path(app.outdir) / "favicon.ico")


def setup(app):
    app.add_config_value("dlbook_execution_digest", "", "env")
    app.connect("config-inited", _check_execution_cache, priority=100)
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("build-finished", _root_favicon)
    app.connect("build-finished", _externalize_frames)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
