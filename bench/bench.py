"""Benchmark: each notebook's execution time and each interactive figure's live redraw latency.

Run with `python3 dev.py bench [notebooks...]`. Executes every chapter in a fresh kernel (the same
single-threaded environment the build uses), then, in that kernel, moves every interactive
figure's controls 30 times like a reader would and times each redraw (draw + PNG encode).
"""
import json
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
MEASURE = """
import json as _json, numpy as _np
from dlbook import widgets as _w
_rows = []
for _f in _w.created():
    _t = _np.array(_f.latency(repeats=30)) * 1000
    _frames = int(_np.prod([len(s.static) for s in _f.params.values()]))
    _rows.append([_f.title, len(_f.params), _frames, float(_np.median(_t)), float(_np.percentile(_t, 95))])
print("BENCH" + _json.dumps(_rows))
"""


def bench_notebook(path):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", store_widget_state=False,
                            resources={"metadata": {"path": str(path.parent)}})
    with client.setup_kernel():
        t0 = time.perf_counter()
        for i, cell in enumerate(nb.cells):
            client.execute_cell(cell, i)
        seconds = time.perf_counter() - t0
        probe = nbformat.v4.new_code_cell(MEASURE)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    rows = json.loads(text.split("BENCH", 1)[1]) if "BENCH" in text else []
    return seconds, rows


def main(paths):
    paths = [Path(p) for p in paths] or sorted((ROOT / "chapters").glob("*.ipynb"))
    total = 0.0
    figure_rows = []
    print("| notebook | execution (s) | interactive figures |")
    print("|---|---:|---:|")
    for path in paths:
        seconds, rows = bench_notebook(path)
        total += seconds
        print(f"| {path.name} | {seconds:.1f} | {len(rows)} |", flush=True)
        figure_rows += [(path.name, *r) for r in rows]
    print(f"| **all** | **{total:.1f}** | {len(figure_rows)} |")
    print("\n| notebook | figure | controls | static frames | redraw median (ms) | redraw p95 (ms) |")
    print("|---|---|---:|---:|---:|---:|")
    for name, title, n_controls, frames, median, p95 in figure_rows:
        print(f"| {name} | {title} | {n_controls} | {frames} | {median:.0f} | {p95:.0f} |")


if __name__ == "__main__":
    main(sys.argv[1:])
