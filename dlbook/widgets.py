"""Interactive figures that work live in Jupyter and without a kernel in the built site.

`interactive(draw, depth=IntSlider(...), act=Dropdown(...))` returns an object that shows

* in JupyterLab / Colab: ipywidgets controls above an image of ONE persistent matplotlib
  Figure; each move calls `draw(fig, **values)` again and re-renders that figure;
* in the static HTML (when the build sets ``DLBOOK_STATIC_FRAMES=1``): plain HTML controls
  and frames precomputed for every combination of each control's `static` values, swapped
  by a few lines of inline JavaScript — no kernel. The frames are inlined in the cell's HTML;
  the book's build then moves them into files the page fetches when a control first moves
  (`externalize_frames`), so no request ever leaves the site.

Committed notebooks are executed without that variable, so they carry only a small
placeholder instead of the frames (notebooks stay small and nbval compares text only).
"""
import base64
import html
import io
import itertools
import json
import math
import os
import re
import time
import weakref
from numbers import Real

import numpy as np

from dlbook import plot
from dlbook.checks import check_int, check_real

STATIC_ENV = "DLBOOK_STATIC_FRAMES"
_CREATED = weakref.WeakSet()  # every Interactive made in this process (the benchmark measures them)
_COUNTER = itertools.count()
MAX_FRAMES = 300  # per figure: every frame is drawn during the build and stored in the site


def _fmt(value):
    """Short, stable label for a control value."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, Real):
        return f"{float(value):.3g}"
    return str(value)


def _check_range(lo, hi, value, name="value"):
    check_real("min", lo), check_real("max", hi)
    if not lo < hi:
        raise ValueError(f"min must be < max, got min={lo!r}, max={hi!r}")
    check_real(name, value, lo, hi)


def _static_grid(static, default, lo, hi, make):
    """Static values: an explicit list, or `static` evenly spaced points (default included)."""
    if isinstance(static, (list, tuple, np.ndarray)):
        values = [v for v in static]
        if not values:
            raise ValueError("static must not be empty")
        for v in values:
            if not lo <= v <= hi:
                raise ValueError(f"static values must lie in [{lo}, {hi}], got {v!r}")
    else:
        check_int("static", static, 1)
        values = list(make(static))
    if default not in values:
        values.append(default)
    return sorted(set(values))


class FloatSlider:
    """A float in [min, max]; `static` frames at that many evenly spaced values (or a list)."""

    def __init__(self, min, max, value, step=None, static=5, description=None):
        _check_range(min, max, value)
        self.min, self.max, self.value = float(min), float(max), float(value)
        self.step = float(step) if step is not None else (self.max - self.min) / 100
        if not self.step > 0:
            raise ValueError(f"step must be > 0, got {step!r}")
        self.description = description
        self.static = _static_grid(static, self.value, self.min, self.max,
                                   lambda n: [float(v) for v in np.linspace(self.min, self.max, n)])

    def sample(self, rng, current):
        return float(rng.uniform(self.min, self.max))

    def live(self, name):
        import ipywidgets as ipw
        return ipw.FloatSlider(value=self.value, min=self.min, max=self.max, step=self.step,
                               description=self.description or name, continuous_update=True,
                               readout_format=".3g")


class IntSlider:
    """An integer in [min, max]; `static` frames at that many evenly spaced values (or a list)."""

    def __init__(self, min, max, value, step=1, static=5, description=None):
        for arg, v in (("min", min), ("max", max), ("value", value)):
            check_int(arg, v)
        check_int("step", step, 1)
        _check_range(min, max, value)
        self.min, self.max, self.value, self.step = int(min), int(max), int(value), int(step)
        self.description = description
        self.static = _static_grid(
            static, self.value, self.min, self.max,
            lambda n: [int(round(v)) for v in np.linspace(self.min, self.max, n)])

    def sample(self, rng, current):
        return int(rng.choice(np.arange(self.min, self.max + 1, self.step)))

    def live(self, name):
        import ipywidgets as ipw
        return ipw.IntSlider(value=self.value, min=self.min, max=self.max, step=self.step,
                             description=self.description or name, continuous_update=True)


class LogSlider:
    """A positive float on a log scale in [min, max] (learning rates, temperatures, ...)."""

    def __init__(self, min, max, value, static=5, description=None):
        _check_range(min, max, value)
        if min <= 0:
            raise ValueError(f"min must be > 0 for a log scale, got {min!r}")
        self.min, self.max, self.value = float(min), float(max), float(value)
        self.description = description
        self.static = _static_grid(static, self.value, self.min, self.max,
                                   lambda n: [float(v) for v in np.geomspace(self.min, self.max, n)])

    def sample(self, rng, current):
        return float(np.exp(rng.uniform(math.log(self.min), math.log(self.max))))

    def live(self, name):
        import ipywidgets as ipw
        lo, hi = math.log10(self.min), math.log10(self.max)
        return ipw.FloatLogSlider(value=self.value, base=10, min=lo, max=hi, step=(hi - lo) / 100,
                                  description=self.description or name, continuous_update=True,
                                  readout_format=".3g")


class Dropdown:
    """One of a few options (strings or numbers); every option gets static frames."""

    def __init__(self, options, value=None, description=None):
        options = list(options)
        if not options:
            raise ValueError("options must not be empty")
        if len(set(map(_fmt, options))) != len(options):
            raise ValueError(f"options must have distinct labels, got {options!r}")
        if value is None:
            value = options[0]
        if value not in options:
            raise ValueError(f"value must be one of options {options!r}, got {value!r}")
        self.options, self.value, self.description = options, value, description
        self.static = options

    def sample(self, rng, current):
        return self.options[(self.options.index(current) + 1) % len(self.options)]

    def live(self, name):
        import ipywidgets as ipw
        return ipw.Dropdown(options=[(_fmt(o), o) for o in self.options], value=self.value,
                            description=self.description or name)


_CONTROLS = (FloatSlider, IntSlider, LogSlider, Dropdown)
_LABEL_CSS = "display:inline-block;margin:0 1.5em 0.3em 0;white-space:nowrap;vertical-align:middle"

# Inline script of the static page: swap the frame when a control moves (no kernel needed).
_STATIC_JS = """(function(){var root=document.currentScript.parentElement;
var data=JSON.parse(root.querySelector('script.dlbook-frames').textContent);
var img=root.querySelector('img.dlbook-frame');var inputs=root.querySelectorAll('[data-param]');
function url(f){return data.urls?f:'data:image/png;base64,'+f;}var fetched=false;
function show(){var key=[];inputs.forEach(function(el){var i=parseInt(el.value,10);key.push(i);
var out=el.parentElement.querySelector('output');if(out){out.textContent=data.labels[el.dataset.param][i];}});
var f=data.frames[key.join(',')];if(f){img.src=url(f);}
if(data.urls&&!fetched){fetched=true;Object.keys(data.frames).forEach(function(k){(new Image()).src=url(data.frames[k]);});}}
inputs.forEach(function(el){el.addEventListener('input',show);el.addEventListener('change',show);});})();"""

# The frames of one figure inside a page, and its default frame (see `Interactive.to_html`).
_FRAMES_RE = re.compile(r'(<script type="application/json" class="dlbook-frames">)(.*?)(</script>)', re.S)
_DEFAULT_RE = re.compile(r'(<img class="dlbook-frame"[^>]*? src=")data:image/png;base64,([^"]+)(")')


def externalize_frames(page, write_png):
    """Move the inlined frames of every static figure in an HTML `page` into files.

    `write_png(png_bytes) -> url` stores one frame and returns the URL the page should load it
    from. Frames are then fetched on demand (all of a figure's frames on its first move) and a
    page weighs a few hundred KB instead of MB. Returns the rewritten page.
    """
    def frames(m):
        data = json.loads(m.group(2))
        if not data.get("urls"):
            data["frames"] = {k: write_png(base64.b64decode(v)) for k, v in data["frames"].items()}
            data["urls"] = True
        return m.group(1) + json.dumps(data, separators=(",", ":")) + m.group(3)

    page = _FRAMES_RE.sub(frames, page)
    return _DEFAULT_RE.sub(lambda m: m.group(1) + html.escape(write_png(base64.b64decode(m.group(2))))
                           + m.group(3), page)


class Interactive:
    """A figure plus its controls; display it (last line of a cell) to use it."""

    def __init__(self, draw, params, figsize=(7.5, 3.2), dpi=80, title=None, clear=True):
        if not callable(draw):
            raise ValueError(f"draw must be callable, got {draw!r}")
        if not params:
            raise ValueError("params must name at least one control")
        for name, spec in params.items():
            if not isinstance(spec, _CONTROLS):
                raise ValueError(f"param {name!r} must be a FloatSlider, IntSlider, LogSlider or "
                                 f"Dropdown, got {spec!r}")
        n_frames = math.prod(len(s.static) for s in params.values())
        if n_frames > MAX_FRAMES:
            raise ValueError(f"params give {n_frames} static frames (> {MAX_FRAMES}): pass fewer "
                             f"`static` values")
        self.draw, self.params, self.dpi, self.clear = draw, dict(params), dpi, clear
        self.title = title or getattr(draw, "__name__", "figure")
        self.values = {name: spec.value for name, spec in params.items()}
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        with plot.style():
            self.figure = Figure(figsize=figsize, dpi=dpi)
        self._canvas = FigureCanvasAgg(self.figure)
        self._positions, self._xlabel_y, self._suptitle_xy = None, None, None
        self._stale = False    # True after an error message replaced the figure's own axes
        self._widget = None
        self._cache, self.cache_size = {}, 256   # PNG bytes by control values (~10-40 KB each)
        self._order = next(_COUNTER)
        _CREATED.add(self)

    # -- rendering -------------------------------------------------------------------------
    def _set(self, values):
        unknown = set(values) - set(self.params)
        if unknown:
            raise ValueError(f"unknown param(s) {sorted(unknown)}; known: {sorted(self.params)}")
        self.values.update(values)

    def render(self, **values):
        """Redraw the persistent figure with `values` (others unchanged); return PNG bytes."""
        self._set(values)
        return self._draw_png()

    def cached_render(self, **values):
        """`render`, but a position seen before returns its stored frame at once (live moves)."""
        self._set(values)
        key = tuple(repr(self.values[n]) for n in self.params)
        if key not in self._cache:
            while self._cache and len(self._cache) >= self.cache_size:
                self._cache.pop(next(iter(self._cache)))    # forget the oldest frames
            self._cache[key] = self._draw_png()
        return self._cache[key]

    def _draw_png(self):
        fig = self.figure
        with plot.style():
            if self.clear or self._stale:
                fig.clear()
                self._stale = False
            self.draw(fig, **self.values)
            self._layout()
            self._canvas.draw()
        return _encode_png(self._canvas)

    def _layout(self):
        """Constrained layout once; later frames reuse what it decided (halves redraw time):
        the axes positions, the suptitle's, and each x-axis label's height. (A free x label
        re-measures every tick label on every draw to dodge them; x tick labels keep their
        height from frame to frame, y tick labels do not, so y labels stay free.)"""
        fig = self.figure
        if self._positions is not None and len(fig.axes) == len(self._positions):
            for ax, pos, xlabel_y in zip(fig.axes, self._positions, self._xlabel_y):
                ax.set_position(pos)
                if xlabel_y is not None:
                    ax.xaxis.set_label_coords(0.5, xlabel_y)      # axes coordinates
            if self._suptitle_xy is not None and getattr(fig, "_suptitle", None) is not None:
                fig._suptitle.set_position(self._suptitle_xy)
            return
        fig.set_layout_engine("constrained")
        fig.draw_without_rendering()
        self._positions = [ax.get_position() for ax in fig.axes]
        self._xlabel_y = [_xlabel_height(ax) for ax in fig.axes]
        suptitle = getattr(fig, "_suptitle", None)
        self._suptitle_xy = suptitle.get_position() if suptitle is not None else None
        fig.set_layout_engine("none")

    def latency(self, repeats=20, seed=0):
        """Seconds per live redraw (draw + PNG encode) over `repeats` moves, like a reader's:
        controls in turn, sliders to random values in their range, dropdowns to the next option."""
        rng = np.random.default_rng(seed)
        names = list(self.params)
        times = []
        for i in range(repeats):
            name = names[i % len(names)]
            value = self.params[name].sample(rng, self.values[name])
            t0 = time.perf_counter()
            self.render(**{name: value})
            times.append(time.perf_counter() - t0)
        self.render(**{n: s.value for n, s in self.params.items()})
        return times

    # -- live widget -------------------------------------------------------------------------
    @property
    def widget(self):
        """The ipywidgets view (built on first use)."""
        if self._widget is None:
            import ipywidgets as ipw
            controls = {name: spec.live(name) for name, spec in self.params.items()}
            image = ipw.Image(value=self.cached_render(), format="png")

            def on_change(change):
                try:
                    image.value = self.cached_render(**{n: c.value for n, c in controls.items()})
                except Exception as exc:  # keep the control alive; show what went wrong
                    self.figure.clear()
                    self._positions, self._stale = None, True
                    ax = self.figure.subplots()
                    ax.set_axis_off()
                    plot.message(ax, f"{type(exc).__name__}: {exc}")
                    self._canvas.draw()
                    image.value = _encode_png(self._canvas)

            for c in controls.values():
                c.observe(on_change, names="value")
            self._widget = ipw.VBox([ipw.HBox(list(controls.values()),
                                              layout=ipw.Layout(flex_flow="row wrap")), image])
        return self._widget

    # -- static page -----------------------------------------------------------------------
    def frames(self):
        """{'i,j,...': base64 PNG} for every combination of the controls' static values."""
        names = list(self.params)
        grids = [self.params[n].static for n in names]
        out = {}
        for idx in itertools.product(*(range(len(g)) for g in grids)):
            png = self.render(**{n: g[i] for n, g, i in zip(names, grids, idx)})
            out[",".join(map(str, idx))] = base64.b64encode(_shrink_png(png)).decode("ascii")
        self.render(**{n: self.params[n].value for n in names})
        return out

    def to_html(self):
        """Self-contained HTML: controls, the default frame, all frames and the swap script."""
        frames = self.frames()
        labels, controls, default = {}, [], []
        for name, spec in self.params.items():
            labels[name] = [_fmt(v) for v in spec.static]
            i0 = spec.static.index(spec.value)
            default.append(str(i0))
            label = html.escape(spec.description or name)
            if isinstance(spec, Dropdown):
                opts = "".join(f'<option value="{i}"{" selected" if i == i0 else ""}>'
                               f'{html.escape(t)}</option>' for i, t in enumerate(labels[name]))
                controls.append(f'<label style="{_LABEL_CSS}">{label} <select '
                                f'data-param="{html.escape(name)}">{opts}</select></label>')
            else:
                controls.append(
                    f'<label style="{_LABEL_CSS}">{label} <input type="range" '
                    f'data-param="{html.escape(name)}" min="0" '
                    f'max="{len(spec.static) - 1}" step="1" value="{i0}"> '
                    f'<output>{html.escape(labels[name][i0])}</output></label>')
        payload = json.dumps({"labels": labels, "frames": frames}, separators=(",", ":"))
        alt = html.escape(f"{self.title}: interactive figure")
        return (f'<div class="dlbook-interactive" data-title="{html.escape(self.title)}">'
                f'<div class="dlbook-controls">{"".join(controls)}</div>'
                f'<img class="dlbook-frame" style="max-width:100%;height:auto" alt="{alt}" '
                f'src="data:image/png;base64,{frames[",".join(default)]}">'
                f'<script type="application/json" class="dlbook-frames">{payload}</script>'
                f'<script>{_STATIC_JS}</script></div>')

    def _placeholder_html(self):
        names = ", ".join(self.params)
        return (f'<p class="dlbook-interactive-placeholder"><em>Interactive figure '
                f'({html.escape(self.title)}; controls: {html.escape(names)}). Run this cell in '
                f'Jupyter to move the controls.</em></p>')

    def __repr__(self):
        return f"Interactive figure {self.title!r} with controls: {', '.join(self.params)}"

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = {"text/plain": repr(self)}
        static = os.environ.get(STATIC_ENV, "") not in ("", "0")
        bundle["text/html"] = self.to_html() if static else self._placeholder_html()
        try:
            import ipywidgets  # noqa: F401
        except ImportError:  # no widget library: the text/html is all there is
            return bundle
        view = self.widget._repr_mimebundle_()
        if view:
            key = "application/vnd.jupyter.widget-view+json"
            if key in view:
                bundle[key] = view[key]
        return bundle


def _xlabel_height(ax):
    """Where the last draw put ax's x label, as a y in axes coordinates (None: no label, or
    a label placed by hand)."""
    axis = ax.xaxis
    if not axis.label.get_text() or axis.label.get_transform() is ax.transAxes:
        return None
    _, y_px = axis.label.get_transform().transform(axis.label.get_position())
    return float(ax.transAxes.inverted().transform((0.0, y_px))[1])


def _encode_png(canvas):
    """PNG bytes of a drawn Agg canvas, fast (live redraws favour speed over size)."""
    from PIL import Image
    im = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    buf = io.BytesIO()
    im.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _shrink_png(png, colors=64):
    """Re-encode a frame with a 64-colour adaptive palette: a third of the bytes of full RGB."""
    from PIL import Image
    im = Image.open(io.BytesIO(png)).convert("RGB")
    im = im.quantize(colors=colors, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def created():
    """The interactive figures made in this process so far, oldest first."""
    return sorted(_CREATED, key=lambda f: f._order)


def interactive(draw, *, figsize=(7.5, 3.2), dpi=80, title=None, clear=True, **params):
    """Make `draw(fig, **params)` interactive: live ipywidgets in Jupyter, static frames in HTML.

    `draw` receives the same Figure on every call plus one keyword per control. With
    clear=True (default) the figure arrives empty and `draw` builds it (`fig.subplots()`...).
    With clear=False it keeps its axes: build them once (`plot.artists` / `plot.keep_artists`
    remember what was built), later only update artists (`line.set_data`) — the fastest redraw. Controls: FloatSlider, IntSlider,
    LogSlider, Dropdown. The static page holds one frame per combination of `static` values.
    """
    return Interactive(draw, params, figsize=figsize, dpi=dpi, title=title, clear=clear)
