"""The built site in headless Chromium: every chapter loads with no console error, no request
leaves 127.0.0.1, every kernel-free control changes its figure, maths render, search works.

Needs `_build/html` (python3 dev.py book) and Debian's chromium. It never skips: a missing
browser or site is a failure, so CI cannot pass without really running it.
"""
import functools
import http.server
import shutil
import re
import threading
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "_build" / "html"
CHAPTER_PAGES = [f + ".html" for part in yaml.safe_load((ROOT / "_toc.yml").read_text())["parts"]
                 for f in (ch["file"] for ch in part["chapters"]) if f.startswith("chapters/")]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def server():
    assert (SITE / "index.html").exists(), "build the site first: python3 dev.py book"
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(self, request, client_address):
            pass  # the browser closing a connection early is not a failure of the site

    handler = functools.partial(Quiet, directory=str(SITE))
    httpd = Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from playwright.sync_api import sync_playwright
    executable = shutil.which("chromium")
    assert executable, "Chromium is required: apt-get install chromium (dev.py test installs it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Visit:
    """Open a page, recording console errors, page errors and requests leaving the site."""

    def __init__(self, browser, base, path):
        self.base, self.errors, self.outside = base, [], []
        self.page = browser.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(
            f"{m.text} ({m.location.get('url', '')})"))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", self._request)
        self.page.on("response", lambda r: r.status >= 400 and self.errors.append(f"HTTP {r.status}: {r.url}"))
        self.page.goto(f"{base}/{path}", wait_until="networkidle")

    def _request(self, request):
        url = request.url
        if not (url.startswith(self.base) or url.startswith("data:") or url.startswith("blob:")):
            self.outside.append(url)


@pytest.mark.parametrize("path", ["index.html", *CHAPTER_PAGES])
def test_page_loads_cleanly_and_stays_local(browser, server, path):
    v = Visit(browser, server, path)
    assert v.errors == []
    assert v.outside == []
    v.page.close()


def test_root_redirect_and_favicon_are_served(server):
    """The root index.html is a bare redirect: a browser may fetch /favicon.ico before leaving it."""
    import urllib.request
    with urllib.request.urlopen(f"{server}/favicon.ico") as r:
        assert r.status == 200 and r.read()[:4] == b"\x89PNG"
    with urllib.request.urlopen(f"{server}/index.html") as r:
        assert "url=intro.html" in r.read().decode()


def _controls(figure):
    return figure.locator("[data-param]")


def _move(control, page):
    """Move a range input or select to a different position; return the new index."""
    tag = control.evaluate("el => el.tagName")
    n = int(control.evaluate("el => el.tagName === 'SELECT' ? el.options.length : (+el.max + 1)"))
    current = int(control.evaluate("el => +el.value"))
    new = (current + 1) % n
    if tag == "SELECT":
        control.select_option(str(new))
    else:
        control.fill(str(new))
    return new


@pytest.mark.parametrize("path", CHAPTER_PAGES)
def test_every_kernel_free_control_changes_its_figure(browser, server, path):
    v = Visit(browser, server, path)
    figures = v.page.locator(".dlbook-interactive")
    assert figures.count() >= 2, "each chapter has at least two interactive figures"
    multi = 0
    for i in range(figures.count()):
        fig = figures.nth(i)
        img = fig.locator("img.dlbook-frame")
        controls = _controls(fig)
        assert controls.count() >= 1
        multi += controls.count() >= 2
        for j in range(controls.count()):
            before = img.get_attribute("src")
            _move(controls.nth(j), v.page)
            after = img.get_attribute("src")
            assert "_static/dlbook-frames/" in after and after.endswith(".png")
            assert after != before, f"figure {i}, control {j} did not change the frame"
            img.evaluate("el => el.complete || new Promise(r => { el.onload = el.onerror = r; })")
            assert img.evaluate("el => el.naturalWidth") > 0, f"figure {i}: frame {after} did not load"
        out = fig.locator("output")
        if out.count():
            assert out.first.inner_text().strip() != ""
    assert v.errors == [] and v.outside == []
    v.page.close()


def test_some_figures_have_two_or_more_controls():
    """Frames keyed by several controls (checked on every page above) are exercised: the book has
    figures with two or more controls (a chapter need not)."""
    multi = 0
    for path in CHAPTER_PAGES:
        chunks = (SITE / path).read_text(encoding="utf-8").split('class="dlbook-interactive"')[1:]
        multi += sum(len(set(re.findall(r'data-param="([^"]+)"', c))) >= 2 for c in chunks)
    assert multi >= 5


@pytest.mark.parametrize("path", CHAPTER_PAGES)
def test_frames_live_in_files_so_pages_stay_light(path):
    """The build moves every figure's frames out of the page into _static/dlbook-frames/."""
    import json
    import re
    page = (SITE / path).read_text(encoding="utf-8")
    assert "base64,iVBOR" not in page                       # no inlined PNG left
    assert len(page.encode()) < 1_000_000, f"{path}: {len(page.encode()) // 1000} KB"
    payloads = re.findall(r'class="dlbook-frames">(.*?)</script>', page, re.S)
    assert len(payloads) >= 2
    for payload in payloads:
        data = json.loads(payload)
        assert data["urls"] is True
        for url in data["frames"].values():
            assert (SITE / path).parent.joinpath(url).resolve().is_file(), url


@pytest.mark.parametrize("path", CHAPTER_PAGES)
def test_maths_render_and_buttons_exist(browser, server, path):
    v = Visit(browser, server, path)
    v.page.wait_for_selector("mjx-container", state="attached", timeout=15000)
    html = v.page.content()
    assert "colab.research.google.com" in html and "mybinder.org" in html
    assert v.page.locator(".btn-download-source-button, a[href$='.ipynb']").count() >= 1
    v.page.close()


def test_search_finds_a_chapter(browser, server):
    v = Visit(browser, server, "search.html?q=initialization")
    v.page.wait_for_selector("#search-results li a", timeout=15000)
    links = v.page.locator("#search-results li a").evaluate_all("els => els.map(e => e.href)")
    assert any("03_initialization" in link for link in links)
    assert v.errors == [] and v.outside == []
    v.page.close()
