"""Gradient flow through depth, in torch and NumPy: deep plain/residual/normalized MLPs, their
per-layer gradient norms, and gradient clipping by norm and by value (as torch.nn.utils does).

Clipping works on lists of NumPy arrays; the depth experiments build torch networks, imported
lazily.
"""
import math
from numbers import Real

import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import LogLocator, NullLocator

from dlbook import plot
from dlbook.checks import check_int, check_positive, check_real


# -- gradient clipping -------------------------------------------------------------------------
def _as_grads(grads):
    if isinstance(grads, np.ndarray):
        grads = [grads]
    grads = [np.asarray(g, dtype=np.float64) for g in grads]
    if not grads:
        raise ValueError("grads must hold at least one array")
    return grads


def total_norm(grads, norm_type=2.0):
    """‖(‖g_1‖, ‖g_2‖, ...)‖_p: the p-norm of all gradients viewed as one long vector."""
    grads = _as_grads(grads)
    norm_type = float(norm_type) if isinstance(norm_type, Real) and not isinstance(norm_type, bool) else None
    if norm_type is None or not norm_type > 0:
        raise ValueError(f"norm_type must be a positive number or inf, got {norm_type!r}")
    if math.isinf(norm_type):
        return float(max(np.max(np.abs(g)) if g.size else 0.0 for g in grads))
    per_tensor = np.array([np.sum(np.abs(g) ** norm_type) ** (1.0 / norm_type) for g in grads])
    return float(np.sum(per_tensor ** norm_type) ** (1.0 / norm_type))


def clip_grad_norm(grads, max_norm, norm_type=2.0, eps=1e-6):
    """torch.nn.utils.clip_grad_norm_ without the in-place: returns (clipped grads, total norm).

    Every gradient is scaled by min(1, max_norm / (total_norm + eps)): one common factor, so
    the update keeps its direction. Because of eps, a norm exactly at max_norm is still
    scaled, by max_norm / (max_norm + 1e-6). All-zero gradients stay zero (also with eps = 0).
    Non-finite gradients behave as in torch (error_if_nonfinite=False): an inf norm scales by 0
    (finite entries become 0, infinite ones NaN), a NaN norm makes every entry NaN.
    Unlike torch, max_norm = inf raises instead of being a silent no-op: clipping that can never
    act is almost surely a mistake, and "no clipping" is expressed by not calling this.
    """
    grads = _as_grads(grads)
    max_norm = check_positive("max_norm", max_norm)
    eps = check_real("eps", eps, 0.0)
    norm = total_norm(grads, norm_type)
    with np.errstate(invalid="ignore", divide="ignore"):
        if not np.isfinite(norm):
            coef = max_norm / norm                         # 0 for inf, NaN for NaN (as torch)
        elif norm + eps == 0:
            coef = 1.0                                     # torch: max_norm / 0 = inf, clamped to 1
        else:
            coef = min(max_norm / (norm + eps), 1.0)
        return [g * coef for g in grads], norm            # inf · 0 = NaN without a warning


def clip_grad_value(grads, clip_value):
    """torch.nn.utils.clip_grad_value_ without the in-place: clamp each entry to [−c, c]."""
    grads = _as_grads(grads)
    clip_value = check_positive("clip_value", clip_value)
    return [np.clip(g, -clip_value, clip_value) for g in grads]


def _light_log_axis(ax, numticks=6):
    """Few major and no minor ticks on a log y-axis: ticks dominate the redraw time."""
    ax.yaxis.set_major_locator(LogLocator(numticks=numticks))
    ax.yaxis.set_minor_locator(NullLocator())


# -- deep MLPs for gradient-flow experiments (torch) ---------------------------------------------
ARCHITECTURES = ("plain", "plain+norm", "residual", "residual+norm")


def deep_mlp(d_in, d_out, depth, width=32, arch="plain", activation="relu"):
    """A torch MLP: input Linear, `depth` hidden blocks, output Linear. Blocks by `arch`:

    plain h ← f(W h); plain+norm h ← f(BN(W h)); residual h ← h + W f(h);
    residual+norm h ← h + W f(BN(h)) (pre-activation ResNet block).
    """
    import torch.nn as nn
    if arch not in ARCHITECTURES:
        raise ValueError(f"arch must be one of {ARCHITECTURES}, got {arch!r}")
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}
    if activation not in acts:
        raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
    for name, v in (("d_in", d_in), ("d_out", d_out), ("depth", depth), ("width", width)):
        check_int(name, v, 1)

    class DeepMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.arch, self.f = arch, acts[activation]()
            self.inp = nn.Linear(d_in, width)
            self.blocks = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))
            self.norms = nn.ModuleList(nn.BatchNorm1d(width) for _ in range(depth)) \
                if arch.endswith("norm") else None
            self.out = nn.Linear(width, d_out)

        def forward(self, x):
            h = self.inp(x)                                # (N, width)
            for i, W in enumerate(self.blocks):
                if self.arch == "plain":
                    h = self.f(W(h))
                elif self.arch == "plain+norm":
                    h = self.f(self.norms[i](W(h)))
                elif self.arch == "residual":
                    h = h + W(self.f(h))
                else:
                    h = h + W(self.f(self.norms[i](h)))
            return self.out(h)

    return DeepMLP()


def init_mlp(d_in, d_out, depth, arch="plain", activation="relu", width=32, seed=0, dtype="float64"):
    """`deep_mlp` initialized as in the experiments: He normal for ReLU, Xavier normal for
    sigmoid/tanh (dlbook.init), biases 0; float64 unless dtype="float32"."""
    import torch
    from dlbook import init
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32', got {dtype!r}")
    torch.manual_seed(seed)
    net = deep_mlp(d_in, d_out, depth, width, arch, activation).to(getattr(torch, dtype))
    init.apply_init(net, "he normal" if activation == "relu" else "xavier normal", rng=seed)
    return net


def hidden_cosine(net, X, mode="train"):
    """Mean cosine similarity over all pairs of distinct samples of the last hidden layer h (the
    input of net.out): near 1 means every input is mapped to the same direction.

    mode "train" (default) normalizes BN layers with the statistics of X as one batch, as the
    SGD steps do; "eval" uses the running statistics, which at initialization (mean 0, var 1)
    make every BN layer almost the identity. The forward pass runs on a deep copy, so `net`
    (its mode and running statistics) is left untouched.
    """
    import copy

    import torch
    if mode not in ("train", "eval"):
        raise ValueError(f"mode must be 'train' or 'eval', got {mode!r}")
    X = np.asarray(X)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"X must have shape (N, d) with N >= 2, got {X.shape}")
    net = copy.deepcopy(net).train(mode == "train")
    seen = {}
    net.out.register_forward_hook(lambda mod, inp, out: seen.setdefault("h", inp[0]))
    with torch.no_grad():
        net(torch.as_tensor(X, dtype=next(net.parameters()).dtype))
    h = seen["h"].double().numpy()                     # (N, width)
    u = h / np.linalg.norm(h, axis=1, keepdims=True)   # unit rows
    n = len(u)
    return float(((u @ u.T).sum() - np.trace(u @ u.T)) / (n * (n - 1)))


def block_grad_norms(net):
    """‖∂L/∂W_l‖ (Frobenius) of each hidden block's weight, first block first."""
    return np.array([float(W.weight.grad.norm()) if W.weight.grad is not None else np.nan
                     for W in net.blocks])


def gradient_flow(X, y, depth, arch="plain", activation="relu", width=32, steps=10, lr=0.05,
                  batch_size=128, seed=0):
    """Per-block gradient norms of a deep MLP at init and after `steps` SGD steps on (X, y).

    Weights: He normal for ReLU, Xavier normal for sigmoid/tanh (dlbook.init), biases 0;
    float64 throughout, so the numbers repeat across machines.
    Returns {'init', 'trained'} (arrays of length depth; NaN once training diverged),
    'loss' (per step) and 'diverged_at' (step or None).
    """
    import torch
    net = init_mlp(X.shape[1], int(y.max()) + 1, depth, arch, activation, width, seed)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    X = torch.as_tensor(np.asarray(X), dtype=next(net.parameters()).dtype)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    out = {"loss": [], "diverged_at": None}
    for t in range(steps + 1):
        idx = torch.randint(0, len(X), (batch_size,), generator=gen)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(X[idx]), y[idx])
        loss.backward()
        if t == 0:
            out["init"] = block_grad_norms(net)
        if not torch.isfinite(loss):
            out["diverged_at"] = t
            break
        out["loss"].append(loss.item())
        if t == steps:
            break
        opt.step()
    out["trained"] = block_grad_norms(net) if out["diverged_at"] is None else np.full(depth, np.nan)
    out["loss"] = np.array(out["loss"])
    return out


def draw_gradient_flow(fig, results, depth=24, arch="plain", activation="relu"):
    """Per-block gradient norms (init and trained, log scale) and the training loss.

    `results[(depth, arch, activation)]` comes from `gradient_flow`. Works with
    `interactive(..., clear=False)`: axes and artists are built once, then only get new data.
    """
    key = (int(depth), arch, activation)
    if key not in results:
        fig.clear()
        ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
        plot.message(ax1, f"no precomputed run for {key}")
        ax2.set_axis_off()
        return
    r = results[key]
    state = plot.artists(fig, "gradient_flow")
    if state is None:
        fig.clear()
        ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.6, 1])
        ax1.set_yscale("log")
        curves = [ax1.plot([], [], "o-", ms=3, color=color)[0]
                  for color in (plot.COLORS[0], plot.COLORS[1])]
        _light_log_axis(ax1)
        ax1.set_xlabel("hidden block $l$ (1 = nearest the input)")
        ax1.set_ylabel(r"$\|\partial L / \partial W_l\|$")
        ax1.set_title(" ", fontsize=10)
        loss_line = ax2.plot([], [], "-", color=plot.COLORS[2])[0]
        loss_dots = ax2.plot([], [], "o", ms=3, color=plot.COLORS[2])[0]
        loss_off = ax2.plot([], [], "^", ms=7, color=plot.COLORS[1])[0]
        ax2.axhline(np.log(10), color="grey", lw=0.8, ls="--")
        ax2.set_yscale("log")
        _light_log_axis(ax2)
        ax2.set_xlabel("SGD step")
        ax2.set_title("training loss (dashed: ln 10)", fontsize=10)
        diverged = ax2.text(0.5, 0.5, "", transform=ax2.transAxes, ha="center",
                            color=plot.COLORS[1], fontsize=9, in_layout=False, visible=False)
        state = plot.keep_artists(fig, "gradient_flow", curves=curves,
                                  loss=(loss_line, loss_dots, loss_off), diverged=diverged,
                                  legend_labels=None)
        state["underflow"] = plot.message(ax1, "")
    ax1, ax2 = state["axes"]
    layers = np.arange(1, depth + 1)
    handles, labels = [], []
    for line, name, label in zip(state["curves"], ("init", "trained"),
                                 ("at init", f"after {len(r['loss']) - 1} steps")):
        g = r[name]
        ok = np.isfinite(g) & (g > 0)
        line.set_data(layers[ok], g[ok])
        line.set_visible(bool(ok.any()))
        if ok.any():
            handles.append(line)
            labels.append(label)
    if state["legend_labels"] != labels:              # a new legend only when its entries change
        if ax1.get_legend() is not None:
            ax1.get_legend().remove()
        if handles:
            ax1.legend(handles, labels, loc="best")
        state["legend_labels"] = labels
    finite = np.concatenate([g[np.isfinite(g) & (g > 0)] for g in (r["init"], r["trained"])])
    ax1.set_ylim(min(1e-6, finite.min() / 5), max(1e2, finite.max() * 5))
    ax1.set_xlim(0.5, depth + 0.5)
    first, last = r["init"][0], r["init"][-1]
    ratio = first / last if last > 0 else np.inf
    ax1.set_title(f"{arch}, {activation}, depth {depth}: first/last at init = {ratio:.2g}", fontsize=10)
    underflow = not np.all(np.isfinite(r["init"]) & (r["init"] > 0))
    plot.set_message(state["underflow"], "some gradients are exactly 0 (underflow)" if underflow else "")
    loss = r["loss"]
    top = min(1e4, max(1e1, 5 * np.max(loss))) if len(loss) else 1e1
    off = loss > top                                  # off the chart: drawn as ^ at the top edge
    loss_line, loss_dots, loss_off = state["loss"]
    loss_line.set_data(np.arange(len(loss)), np.minimum(loss, top))
    loss_dots.set_data(np.flatnonzero(~off), loss[~off])
    loss_off.set_data(np.flatnonzero(off), np.full(off.sum(), top))
    ax2.relim()                                       # x: the limits a fresh axes would take
    ax2.autoscale_view(scaley=False)
    ax2.set_ylim(0.1, top * 1.5)
    note = ""
    if r["diverged_at"] is not None:
        big = f"\n(largest finite loss {np.max(loss):.1e}, ▲)" if off.any() else ""
        note = f"diverged: loss not finite\nat step {r['diverged_at']}{big}"
    plot.set_message(state["diverged"], note)


# -- gradient clipping during training (torch) -------------------------------------------------
def train_with_clipping(X, y, max_norm=None, clip_value=None, depth=8, arch="residual", lr=0.1,
                        steps=60, width=32, batch_size=128, seed=0):
    """SGD on a deep MLP, clipping by norm (`max_norm`) or by value (`clip_value`) each step.

    Returns 'loss' and 'norm' (total gradient norm before clipping) per step, 'diverged_at'.
    """
    import torch
    from dlbook import init
    if max_norm is not None:
        check_positive("max_norm", max_norm)
    if clip_value is not None:
        check_positive("clip_value", clip_value)
    torch.manual_seed(seed)
    net = deep_mlp(X.shape[1], int(y.max()) + 1, depth, width, arch, "relu").double()
    init.apply_init(net, "he normal", rng=seed)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    X = torch.as_tensor(np.asarray(X), dtype=next(net.parameters()).dtype)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    out = {"loss": [], "norm": [], "diverged_at": None}
    for t in range(steps):
        idx = torch.randint(0, len(X), (batch_size,), generator=gen)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(X[idx]), y[idx])
        if not torch.isfinite(loss):
            out["diverged_at"] = t
            break
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm or math.inf)
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_(net.parameters(), clip_value)
        out["loss"].append(loss.item())
        out["norm"].append(float(norm))
        opt.step()
    out["loss"], out["norm"] = np.array(out["loss"]), np.array(out["norm"])
    return out


def plot_clip_geometry(max_norm=1.0, seed=0):
    """2-D picture: raw gradients (arrows), clipped by norm (circle, same direction) and by
    value (box of half-width max_norm, direction bent)."""
    max_norm = check_positive("max_norm", max_norm)
    rng = np.random.default_rng(seed)
    G = rng.standard_normal((6, 2)) * np.array([[2.0, 0.7]]) * max_norm   # (6, 2) gradients
    fig, ax = plot.figure(figsize=(4.2, 4.0))
    t = np.linspace(0, 2 * np.pi, 200)
    ax.plot(max_norm * np.cos(t), max_norm * np.sin(t), color=plot.COLORS[0], lw=1,
            label=f"‖g‖ = {max_norm:.3g}")
    ax.add_patch(Rectangle((-max_norm, -max_norm), 2 * max_norm, 2 * max_norm, fill=False, ls="--",
                           color=plot.COLORS[1], lw=1, label=f"|g_i| = {max_norm:.3g}"))
    for k, g in enumerate(G):
        (gn,), _ = clip_grad_norm([g], max_norm)
        (gv,) = clip_grad_value([g], max_norm)
        ax.annotate("", g, (0, 0), arrowprops={"arrowstyle": "->", "color": "grey", "lw": 1})
        ax.plot(*gn, "o", color=plot.COLORS[0], ms=6, label="clipped by norm" if k == 0 else None)
        ax.plot(*gv, "s", color=plot.COLORS[1], ms=6, mfc="none",
                label="clipped by value" if k == 0 else None)
        ax.plot([gn[0], gv[0]], [gn[1], gv[1]], color="grey", lw=0.5, ls=":")
    lim = 1.1 * np.abs(G).max()
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_title("grey arrows: raw 2-D gradients", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def draw_clipping(fig, max_norm=10.0, runs=None):
    """Gradient norm per step against the threshold, and the training loss, for clip_grad_norm_
    at `max_norm` (nearest precomputed run in `runs`: max_norm -> train_with_clipping output;
    key None is the unclipped run). Works with `interactive(..., clear=False)`: axes and
    artists are built once, then only get new data."""
    grid = np.array([k for k in runs if k is not None])
    near = float(grid[np.argmin(np.abs(np.log(grid) - np.log(max_norm)))])
    r, free = runs[near], runs[None]
    state = plot.artists(fig, "clipping")
    if state is None:
        fig.clear()
        ax1, ax2 = fig.subplots(1, 2)
        ax1.set_yscale("log")
        norm_line = ax1.plot([], [], "-", color=plot.COLORS[0], lw=1)[0]
        on = ax1.plot([], [], "o", ms=3, color=plot.COLORS[1], label="clipped")[0]
        below = ax1.plot([], [], "o", ms=3, color=plot.COLORS[0], label="not clipped")[0]
        threshold = ax1.axhline(1.0, color="k", ls="--", lw=1, label="max_norm = 1")
        _light_log_axis(ax1)
        ax1.set_xlabel("SGD step")
        ax1.set_ylabel("‖g‖ before clipping")
        ax1.set_title(" ", fontsize=10)
        ax1.legend(fontsize=8, loc="upper right")
        ax2.set_yscale("log")
        free_line = ax2.plot([], [], "o-", ms=2.5, color="grey", label="no clipping")[0]
        run_line = ax2.plot([], [], "o-", ms=2.5, color=plot.COLORS[0], label="max_norm = 1")[0]
        free_note = ax2.text(0.03, 0.04, "", color="grey", transform=ax2.transAxes, fontsize=8,
                             visible=False)
        ax2.set_ylim(0.03, 1e3)
        _light_log_axis(ax2)
        ax2.set_xlabel("SGD step")
        ax2.set_ylabel("training loss")
        ax2.set_title(" ", fontsize=10)
        ax2.legend(fontsize=8, loc="upper right")
        state = plot.keep_artists(fig, "clipping", norm=(norm_line, on, below),
                                  threshold=threshold, loss=(free_line, run_line),
                                  free_note=free_note)
    ax1, ax2 = state["axes"]
    steps = np.arange(len(r["norm"]))
    clipped = r["norm"] > near
    norm_line, on, below = state["norm"]
    norm_line.set_data(steps, r["norm"])
    on.set_data(steps[clipped], r["norm"][clipped])
    below.set_data(steps[~clipped], r["norm"][~clipped])
    state["threshold"].set_ydata([near, near])
    label = f"max_norm = {near:.3g}"
    ax1.get_legend().texts[2].set_text(label)
    ax1.relim()                                       # x: the limits a fresh axes would take
    ax1.autoscale_view(scaley=False)
    ax1.set_ylim(3e-3, max(1e3, 2 * np.max(r["norm"])))
    ax1.set_title(f"steps clipped: {clipped.mean():.0%}", fontsize=10)
    free_line, run_line = state["loss"]
    free_line.set_data(np.arange(len(free["loss"])), free["loss"])
    run_line.set_data(steps, r["loss"])
    ax2.get_legend().texts[1].set_text(label)
    plot.set_message(state["free_note"], "" if free["diverged_at"] is None
                     else f"no clipping: loss NaN at step {free['diverged_at']}")
    ax2.relim()
    ax2.autoscale_view(scaley=False)
    ax2.set_title(f"final loss {r['loss'][-1]:.3g}", fontsize=10)
