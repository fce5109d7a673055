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
    """Write `text` in the middle of `ax`: how a figure says "diverged" instead of going blank.

    Returns the Text; a persistent figure re-words or hides it later with `set_message`.
    """
    t = ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center",
                fontsize=11, color=color, wrap=True,
                bbox={"boxstyle": "round", "facecolor": "white", "edgecolor": color, "alpha": 0.9})
    t.set_visible(bool(text))
    return t


def set_message(t, text):
    """Re-word a `message`; the empty string hides it."""
    t.set_text(text)
    t.set_visible(bool(text))


def artists(fig, kind):
    """The artists a persistent (`clear=False`) draw of `kind` kept on `fig`, or None.

    None when the figure is empty, was cleared, or was last built by another draw: the caller
    then builds its axes once (`keep_artists`) and on later calls only updates their data.
    """
    kept = getattr(fig, "_dlbook_artists", None)
    if kept is None or kept["kind"] != kind or not fig.axes \
            or any(ax not in fig.axes for ax in kept["axes"]):
        return None
    return kept


def keep_artists(fig, kind, **artists):
    """Remember the artists a draw of `kind` just built on `fig` (a dict, also returned)."""
    fig._dlbook_artists = {"kind": kind, "axes": list(fig.axes), **artists}
    return fig._dlbook_artists


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


def few_ticks(*axes, n=4):
    """At most n major ticks on linear axes and no minor ticks on log axes: tick marks and
    labels are most of an interactive redraw's cost."""
    from matplotlib.ticker import MaxNLocator, NullLocator
    for ax in axes:
        for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
            if scale == "linear":
                axis.set_major_locator(MaxNLocator(n))
            else:
                axis.set_minor_locator(NullLocator())
