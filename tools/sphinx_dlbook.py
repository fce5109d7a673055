"""Local Sphinx extension for the book's HTML (loaded from _config.yml `local_extensions`).

* Jupyter Book 1 always loads sphinx-thebe, which inserts its `const THEBE_JS_URL` script twice
  (a SyntaxError in every page's console) and points at a CDN. The book does not use thebe
  (launch_buttons.thebe is false), so its scripts are dropped from every page.
* pydata-sphinx-theme logs "invalid theme mode" unless `default_mode` is set: use light.
* Jupyter Book's root `index.html` is a bare redirect with no icon link, so a browser may ask for
  `/favicon.ico` before it follows it: the book's favicon is also written there.
"""
import shutil
from pathlib import Path


def _is_thebe(script):
    name = str(getattr(script, "filename", script) or "")
    body = str(getattr(script, "attributes", {}).get("body", ""))
    return "thebe" in name or "THEBE_JS_URL" in body


def _page_context(app, pagename, templatename, context, doctree):
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe(s)]
    context.setdefault("default_mode", "light")


def _root_favicon(app, exception):
    icon = app.config.html_favicon
    if exception is None and app.builder.format == "html" and icon:
        shutil.copyfile(Path(app.srcdir) / icon, Path(app.outdir) / "favicon.ico")


def setup(app):
    app.connect("html-page-context", _page_context, priority=900)
    app.connect("build-finished", _root_favicon)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
