"""dlbook.plot: the house figure, messages, and the artists a persistent figure keeps."""
from matplotlib.figure import Figure

from dlbook import plot


def test_figure_uses_the_house_style():
    fig, (a, b) = plot.figure(1, 2)
    assert fig.get_layout_engine() is not None and fig.axes == [a, b]
    assert not a.spines["top"].get_visible() and not b.spines["right"].get_visible()
    assert a.title.get_fontsize() == plot.HOUSE_STYLE["axes.titlesize"]


def test_message_is_hidden_when_empty_and_rewordable():
    fig, ax = plot.figure()
    t = plot.message(ax, "")
    assert not t.get_visible() and t in ax.texts
    plot.set_message(t, "diverged at step 3")
    assert t.get_visible() and t.get_text() == "diverged at step 3"
    plot.set_message(t, "")
    assert not t.get_visible()
    assert plot.message(ax, "shown").get_visible()


def test_kept_artists_last_until_the_figure_is_cleared_or_redrawn_by_another_kind():
    fig = Figure()
    assert plot.artists(fig, "a") is None                       # empty figure: build
    ax = fig.subplots()
    (line,) = ax.plot([0, 1])
    kept = plot.keep_artists(fig, "a", line=line)
    assert plot.artists(fig, "a") is kept and kept["line"] is line and kept["axes"] == [ax]
    assert plot.artists(fig, "b") is None                       # another draw's figure
    fig.clear()
    assert plot.artists(fig, "a") is None                       # cleared: build again
    fig.subplots()
    assert plot.artists(fig, "a") is None                       # new axes are not the kept ones


def test_few_ticks_limits_linear_ticks_and_drops_log_minor_ticks():
    from matplotlib.ticker import MaxNLocator, NullLocator
    fig, ax = plot.figure()
    ax.set_yscale("log")
    plot.few_ticks(ax, n=3)
    assert isinstance(ax.xaxis.get_major_locator(), MaxNLocator)
    assert isinstance(ax.yaxis.get_minor_locator(), NullLocator)
