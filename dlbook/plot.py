"""One house style for every figure in the book.

Figures are plain `matplotlib.figure.Figure` objects (no pyplot state), so a helper can
build one, return it, and the notebook displays it exactly once.
"""
from contextlib import contextmanager

import matplotlib as mpl
from matplotlib.figure import Figure

# A colour-blind-safe cycle (Okabe & Ito) used across chapters, in a fixed order.
COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

HOUSE_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "axes.prop_cycle": mpl.cycler(color=COLORS),
    "font.family": "DejaVu Sans",
    "svg.hashsalt": "dlbook",
    # Titles sit at a fixed height: matplotlib then skips re-measuring every tick label on each
    # draw to dodge them (about a tenth of an interactive redraw).
    "axes.titley": 1.0,
}


@contextmanager
def style():
    """Apply the house style inside a `with` block (no global side effect)."""
    with mpl.rc_context(HOUSE_STYLE):
        yield


def figure(nrows=1, ncols=1, figsize=(7.5, 3.2), **subplots_kw):
    """A new house-style Figure and its axes: `fig, ax = figure()`; `fig, axes = figure(1, 2)`."""
    with style():
        fig = Figure(figsize=figsize, layout="constrained")
        axes = fig.subplots(nrows, ncols, **subplots_kw)
    return fig, axes


def message(ax, text, color="#D55E00"):
    """Write `text` in the middle of `ax`: how a figure says "diverged" instead of going blank."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
            fontsize=11, color=color, wrap=True,
            bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": color, "alpha": 0.9})


def log_yaxis(ax, lo, hi, every=2):
    """Log y axis on [lo, hi] with a major tick every `every` decades and no minor ticks.

    Minor log ticks cost a third of a redraw; interactive figures leave them out.
    """
    from matplotlib.ticker import FixedLocator, NullLocator
    import numpy as np
    ax.set_yscale("log")
    ax.set_ylim(lo, hi)
    decades = np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1, every)
    ax.yaxis.set_major_locator(FixedLocator(10.0 ** decades))
    ax.yaxis.set_minor_locator(NullLocator())
