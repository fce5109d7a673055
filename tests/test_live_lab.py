"""The live face of an interactive figure, as a reader uses it: a real JupyterLab server on
127.0.0.1, a notebook cell run in headless Chromium, a slider dragged with the keyboard and a
dropdown changed; the figure's image must change each time and no error may appear.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CELL = """%matplotlib inline
from functools import partial
from dlbook import init, widgets
widgets.interactive(partial(init.draw_layer_statistics, width=32), clear=False,
                    depth=widgets.IntSlider(2, 50, value=20),
                    activation=widgets.Dropdown(["tanh", "relu"]))"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
                     "source": CELL}],
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
          "nbformat": 4, "nbformat_minor": 5}
    (root / "live.ipynb").write_text(json.dumps(nb))
    port = _free_port()
    jupyter = Path(sys.executable).parent / "jupyter"
    proc = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1", "--allow-root",
         "--ServerApp.token=", "--ServerApp.password=", f"--ServerApp.root_dir={root}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("JupyterLab did not start within 90 s")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_live_widget_redraws_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright
    executable = shutil.which("chromium")
    assert executable, "Chromium is required: apt-get install chromium (dev.py test installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        outside = []
        page.on("request", lambda r: r.url.startswith(("http://127.0.0.1", "data:", "blob:", "ws://127.0.0.1"))
                or outside.append(r.url))
        page.goto(f"{lab}/lab/tree/live.ipynb", wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        slider = page.locator(".jp-OutputArea .widget-slider")
        end = time.time() + 180           # a cold JupyterLab and kernel can be slow on 2 busy cores
        while slider.count() == 0 and time.time() < end:
            page.locator(".jp-Cell .jp-InputArea-editor").first.click()
            page.keyboard.press("Control+Enter")      # run the cell in place (again if not ready)
            try:
                slider.first.wait_for(timeout=20_000)
            except Exception:
                continue
        assert slider.count() > 0, "the cell never displayed the widget"
        img = page.locator(".jp-OutputArea img").first
        img.wait_for(timeout=60_000)

        def changed_from(src, timeout=30):
            end = time.time() + timeout
            while time.time() < end:
                if img.get_attribute("src") != src:
                    return True
                time.sleep(0.2)
            return False

        src = img.get_attribute("src")
        page.locator(".jp-OutputArea .widget-slider .noUi-handle").first.click()
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        assert changed_from(src), "moving the slider did not redraw the figure"
        src = img.get_attribute("src")
        page.locator(".jp-OutputArea select").first.select_option(label="relu")
        assert changed_from(src), "changing the dropdown did not redraw the figure"
        assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
        assert "Error" not in page.locator(".jp-OutputArea").first.inner_text()
        browser.close()
    # JupyterLab itself may look for extensions online; the figure's own traffic stays local.
    assert all("dlbook" not in url for url in outside)
