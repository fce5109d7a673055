"""dlbook.widgets: controls validate, the live view redraws one figure, the static HTML holds
one frame per combination and the swap script; the notebook text stays small without frames."""
import base64
import json
import re

import numpy as np
import pytest

from dlbook import widgets

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def draw_line(fig, slope=1.0, kind="line"):
    ax = fig.subplots()
    x = np.linspace(0, 1, 20)
    ax.plot(x, slope * x if kind == "line" else slope * x ** 2)
    ax.set_ylim(-5, 5)


def make(static=(-2.0, 1.0, 2.0), **kw):
    return widgets.interactive(draw_line, slope=widgets.FloatSlider(-2, 2, value=1.0, static=static if isinstance(static, int) else list(static)),
                               kind=widgets.Dropdown(["line", "square"]), **kw)


def test_render_returns_png_and_redraws_the_same_figure():
    fig = make()
    first = fig.render()
    second = fig.render(slope=-2.0)
    assert first.startswith(PNG_MAGIC) and second.startswith(PNG_MAGIC)
    assert first != second
    assert fig.values == {"slope": -2.0, "kind": "line"}
    assert len(fig.figure.axes) == 1  # cleared and redrawn, not stacked


@pytest.mark.parametrize("clear", [True, False])
def test_a_frame_does_not_depend_on_the_frames_drawn_before_it(clear):
    """The layout is computed on the first frame and reused (axes, suptitle, x-label height):
    a frame looks the same whichever frames were drawn between it and the first."""
    from PIL import Image
    import io

    def draw(fig, scale=1.0):
        if clear or not fig.axes:
            ax1, ax2 = fig.subplots(1, 2)
            ax1.plot([], [])
            ax2.plot([], [])
            ax1.set_xlabel("time t"), ax2.set_xlabel("log scale"), ax1.set_ylabel("value")
            ax2.set_xscale("log")
            fig.suptitle(" ")
        ax1, ax2 = fig.axes
        x = np.linspace(1, 100, 50)
        ax1.lines[0].set_data(x, scale * np.sin(x / 10))
        ax2.lines[0].set_data(x, scale * np.log(x))
        for ax in (ax1, ax2):
            ax.relim(), ax.autoscale_view()
        fig.suptitle(f"scale {scale:.3g}")

    def png(fig, **values):
        return np.asarray(Image.open(io.BytesIO(fig.render(**values))))
    walked, direct = (widgets.interactive(draw, clear=clear, scale=widgets.LogSlider(0.01, 100, 1.0))
                      for _ in range(2))
    first = png(walked)                                          # sets the layout
    for scale in (0.01, 100.0, 3.0):
        png(walked, scale=scale)
    assert np.array_equal(png(walked, scale=1.0), first)         # reused layout == computed one
    png(direct)
    assert np.array_equal(png(walked, scale=0.5), png(direct, scale=0.5))
    assert walked.figure.axes[0].xaxis.label.get_transform() is walked.figure.axes[0].transAxes


def test_frames_cover_every_combination_of_static_values():
    fig = make()
    frames = fig.frames()
    assert sorted(frames) == [f"{i},{j}" for i in range(3) for j in range(2)]
    pngs = [base64.b64decode(v) for v in frames.values()]
    assert all(p.startswith(PNG_MAGIC) for p in pngs)
    assert len(set(pngs)) == 6  # every combination draws something different


def test_static_html_has_controls_frames_and_script():
    page = make(static=3).to_html()  # -2, 0, 2 and the default 1
    assert page.count('type="range"') == 1 and page.count("<select") == 1
    payload = json.loads(re.search(r'<script type="application/json" class="dlbook-frames">(.*?)</script>',
                                   page).group(1))
    assert payload["labels"] == {"slope": ["-2", "0", "1", "2"], "kind": ["line", "square"]}
    assert len(payload["frames"]) == 8  # the default value 1.0 joins the 3 evenly spaced ones
    # the default frame (slope=1 -> index 2, kind=line -> 0) is the one shown first
    assert f'src="data:image/png;base64,{payload["frames"]["2,0"]}"' in page
    assert "addEventListener('input'" in page


def test_externalized_frames_become_urls_and_keep_every_frame():
    fig = make(static=3)
    page = "<p>before</p>" + fig.to_html() + "<p>between</p>" + fig.to_html()
    inline = json.loads(re.search(r'class="dlbook-frames">(.*?)</script>', page).group(1))
    stored = {}

    def write_png(png):
        assert png.startswith(PNG_MAGIC)
        url = f"../_static/dlbook-frames/{len(stored)}.png"
        stored[url] = png
        return url
    out = widgets.externalize_frames(page, write_png)
    assert "base64,iVBOR" not in out and out.startswith("<p>before</p>") and "<p>between</p>" in out
    payloads = [json.loads(m) for m in re.findall(r'class="dlbook-frames">(.*?)</script>', out)]
    assert len(payloads) == 2 and all(p["urls"] for p in payloads)
    for key, b64 in inline["frames"].items():                 # same frames, now behind URLs
        assert stored[payloads[0]["frames"][key]] == base64.b64decode(b64)
    default = re.search(r'<img class="dlbook-frame"[^>]*? src="([^"]+)"', out).group(1)
    assert stored[default] == base64.b64decode(inline["frames"]["2,0"])
    assert widgets.externalize_frames(out, write_png) == out   # a second pass changes nothing
    assert "data.urls?f:" in out                                # the script handles both forms


def test_mimebundle_placeholder_without_env_and_frames_with_it(monkeypatch):
    fig = make()
    monkeypatch.delenv(widgets.STATIC_ENV, raising=False)
    bundle = fig._repr_mimebundle_()
    assert "dlbook-interactive-placeholder" in bundle["text/html"] and "base64" not in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"] == "Interactive figure 'draw_line' with controls: slope, kind"
    monkeypatch.setenv(widgets.STATIC_ENV, "1")
    assert 'class="dlbook-interactive"' in fig._repr_mimebundle_()["text/html"]


def test_live_controls_update_the_image():
    fig = make()
    box = fig.widget
    controls, image = box.children[0].children, box.children[1]
    before = image.value
    controls[0].value = -1.5
    assert image.value != before and fig.values["slope"] == -1.5
    controls[1].value = "square"
    assert fig.values["kind"] == "square"


def test_a_failing_draw_shows_the_error_instead_of_killing_the_control():
    def draw(fig, x=1.0):
        if x > 1.5:
            raise ValueError("x too large to draw")
        fig.subplots().plot([0, 1], [0, x])

    fig = widgets.interactive(draw, x=widgets.FloatSlider(0, 2, value=1.0))
    slider, image = fig.widget.children[0].children[0], fig.widget.children[1]
    before = image.value
    slider.value = 2.0           # must not raise
    assert image.value != before
    slider.value = 0.5           # and the figure recovers
    assert len(fig.figure.axes) == 1


def test_clear_false_keeps_axes_for_artist_updates():
    calls = []

    def draw(fig, a=1.0):
        if not fig.axes:
            fig.subplots().plot([0, 1], [0, a])
        fig.axes[0].lines[0].set_ydata([0, a])
        calls.append(len(fig.axes))

    fig = widgets.interactive(draw, clear=False, a=widgets.FloatSlider(0, 1, value=0.5))
    fig.render()
    fig.render(a=0.9)
    assert calls == [1, 1]


def test_log_and_int_sliders_static_grids():
    s = widgets.LogSlider(1e-3, 1.0, value=0.1, static=4)
    assert s.static == pytest.approx([1e-3, 1e-2, 1e-1, 1.0])
    i = widgets.IntSlider(1, 9, value=4, static=3)
    assert i.static == [1, 4, 5, 9]
    assert widgets.IntSlider(2, 10, value=6, step=4, static=[2, 6, 10]).static == [2, 6, 10]


@pytest.mark.parametrize("call, arg", [
    (lambda: widgets.FloatSlider(1, 0, value=0.5), "min"),
    (lambda: widgets.FloatSlider(0, 1, value=2), "value"),
    (lambda: widgets.FloatSlider(0, 1, value=float("nan")), "value"),
    (lambda: widgets.FloatSlider(0, 1, value=0.5, static=[0.5, 3.0]), "static"),
    (lambda: widgets.FloatSlider(0, 1, value=0.5, static=0), "static"),
    (lambda: widgets.IntSlider(0, 5, value=2.5), "value"),
    (lambda: widgets.IntSlider(0, 5, value=2, step=0), "step"),
    (lambda: widgets.LogSlider(0.0, 1.0, value=0.5), "min"),
    (lambda: widgets.Dropdown([]), "options"),
    (lambda: widgets.Dropdown(["a", "b"], value="c"), "value"),
    (lambda: widgets.interactive(draw_line), "params"),
    (lambda: widgets.interactive(draw_line, slope=3.0), "slope"),
    (lambda: widgets.interactive("draw", slope=widgets.FloatSlider(0, 1, 0.5)), "draw"),
    (lambda: make().render(angle=3), "unknown param"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


def test_too_many_frames_is_refused():
    with pytest.raises(ValueError, match="static"):
        widgets.interactive(draw_line, slope=widgets.FloatSlider(0, 1, value=0.5, static=40),
                            kind=widgets.Dropdown([str(i) for i in range(10)]))


def test_live_moves_reuse_frames_of_positions_seen_before():
    calls = []

    def draw(fig, a=1.0, kind="x"):
        calls.append((a, kind))
        fig.subplots().plot([0, 1], [0, a] if kind == "x" else [a, 0])

    fig = widgets.interactive(draw, a=widgets.FloatSlider(0, 2, value=1.0), kind=widgets.Dropdown(["x", "y"]))
    first = fig.cached_render()
    second = fig.cached_render(a=1.5)
    assert fig.cached_render(a=1.0) == first and len(calls) == 2     # revisit: no redraw
    assert fig.cached_render(a=1.5, kind="y") != second and len(calls) == 3
    fig.cache_size = 2
    fig.cached_render(a=0.5)                                          # evicts the oldest frame
    assert len(fig._cache) == 2
    assert fig.render(a=1.0) and len(calls) == 5                      # render() always draws


def test_a_persistent_figure_recovers_after_an_error():
    def draw(fig, x=1.0):
        if x > 1.5:
            raise ValueError("x too large to draw")
        if not fig.axes:
            fig.subplots().plot([0, 1], [0, x])
        fig.axes[0].lines[0].set_ydata([0, x])    # fails if the axes are the error message's

    fig = widgets.interactive(draw, clear=False, x=widgets.FloatSlider(0, 2, value=1.0))
    slider, image = fig.widget.children[0].children[0], fig.widget.children[1]
    slider.value = 2.0
    assert fig._stale
    error_frame = image.value
    slider.value = 0.5
    assert not fig._stale and len(fig.figure.axes[0].lines) == 1
    assert image.value[:4] == b"\x89PNG" and image.value != error_frame
