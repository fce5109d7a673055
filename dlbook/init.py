"""Weight-initialization schemes in NumPy, with the same fans and gains as `torch.nn.init`.

Shapes follow PyTorch: a Linear weight is (fan_out, fan_in); a conv weight is
(out_channels, in_channels, *kernel), whose receptive field multiplies both fans.
"""
import math
from functools import lru_cache

import numpy as np

from dlbook import activations, plot
from dlbook.checks import check_int, check_positive, check_real
from dlbook.util import as_generator


def _check_shape(shape):
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"shape must have at least 2 dimensions (fan_in and fan_out), got {shape}")
    return tuple(check_int("shape", d, 1) for d in shape)


def fans(shape):
    """(fan_in, fan_out) of a weight of `shape`, as torch's `_calculate_fan_in_and_fan_out`."""
    shape = _check_shape(shape)
    receptive_field = math.prod(shape[2:])  # 1 for Linear, k_h * k_w for Conv2d
    return shape[1] * receptive_field, shape[0] * receptive_field


def gain(nonlinearity, param=None):
    """Recommended scale for a nonlinearity, as `torch.nn.init.calculate_gain`.

    Unlike torch, the names conv_transpose1d/2d/3d (gain 1 there) raise: the book builds no
    transposed convolutions, and a short list of names catches typos in the chapters' sweeps.
    """
    if nonlinearity in ("linear", "conv1d", "conv2d", "conv3d", "sigmoid"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else check_real("param", param)
        return math.sqrt(2.0 / (1.0 + slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"nonlinearity {nonlinearity!r} is not supported; use linear, sigmoid, "
                     "tanh, relu, leaky_relu or selu")


def _fan(shape, mode):
    fan_in, fan_out = fans(shape)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")


# -- standard deviations and bounds (the formulas, separate from the sampling) -----------------
def xavier_std(fan_in, fan_out, gain=1.0):
    """Glorot & Bengio (2010): Var(W) = 2 / (fan_in + fan_out), times gain²."""
    check_positive("fan_in", fan_in)
    check_positive("fan_out", fan_out)
    check_positive("gain", gain)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def kaiming_std(fan, gain=math.sqrt(2.0)):
    """He et al. (2015): Var(W) = gain² / fan; gain² = 2 for ReLU keeps E[h²] constant."""
    check_positive("fan", fan)
    check_positive("gain", gain)
    return gain / math.sqrt(fan)


def lecun_std(fan_in):
    """LeCun et al. (1998): Var(W) = 1 / fan_in (the forward-only half of Xavier's argument)."""
    return kaiming_std(fan_in, gain=1.0)


def uniform_bound(std):
    """a such that U(-a, a) has standard deviation `std`: Var = a² / 3, so a = √3 · std."""
    check_positive("std", std)
    return math.sqrt(3.0) * std


def xavier_bound(fan_in, fan_out, gain=1.0):
    """a = gain · √(6 / (fan_in + fan_out)), the uniform bound with Xavier's variance."""
    xavier_std(fan_in, fan_out, gain)  # validates the arguments
    return gain * math.sqrt(6.0 / (fan_in + fan_out))


# -- samplers: each returns a float64 array of `shape` ----------------------------------------
def zeros(shape):
    """All-zero weights: every unit computes the same thing (the symmetry problem)."""
    return np.zeros(_check_shape(shape))


def constant(shape, value):
    """Every weight equal to `value`: symmetric, like zeros, but not silent."""
    return np.full(_check_shape(shape), check_real("value", value))


def normal(shape, std=0.01, rng=None):
    """N(0, std²): the classic "small random numbers"."""
    check_positive("std", std)
    return as_generator(rng).normal(0.0, std, size=_check_shape(shape))


def uniform(shape, bound, rng=None):
    """U(-bound, bound)."""
    check_positive("bound", bound)
    return as_generator(rng).uniform(-bound, bound, size=_check_shape(shape))


def xavier_uniform(shape, gain=1.0, rng=None):
    """U(-a, a), a = gain · √(6 / (fan_in + fan_out)); torch.nn.init.xavier_uniform_."""
    fan_in, fan_out = fans(shape)
    return uniform(shape, xavier_bound(fan_in, fan_out, gain), rng)


def xavier_normal(shape, gain=1.0, rng=None):
    """N(0, σ²), σ = gain · √(2 / (fan_in + fan_out)); torch.nn.init.xavier_normal_."""
    fan_in, fan_out = fans(shape)
    return normal(shape, xavier_std(fan_in, fan_out, gain), rng)


def kaiming_uniform(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """U(-b, b), b = gain · √(3 / fan); torch.nn.init.kaiming_uniform_ (same defaults)."""
    return uniform(shape, uniform_bound(kaiming_std(_fan(shape, mode), gain(nonlinearity, a))), rng)


def kaiming_normal(shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu", rng=None):
    """N(0, σ²), σ = gain / √fan; torch.nn.init.kaiming_normal_ (same defaults)."""
    return normal(shape, kaiming_std(_fan(shape, mode), gain(nonlinearity, a)), rng)


def lecun_normal(shape, rng=None):
    """N(0, 1 / fan_in); equals kaiming_normal with nonlinearity='linear'."""
    return normal(shape, lecun_std(fans(shape)[0]), rng)


def lecun_uniform(shape, rng=None):
    """U(-a, a), a = √(3 / fan_in)."""
    return uniform(shape, uniform_bound(lecun_std(fans(shape)[0])), rng)


def torch_default_linear(shape, rng=None):
    """What `torch.nn.Linear` does by default: kaiming_uniform with a=√5, i.e. U(±1/√fan_in)."""
    return kaiming_uniform(shape, a=math.sqrt(5.0), rng=rng)


def torch_default_bias(shape, rng=None):
    """The bias `torch.nn.Linear`/`Conv*d` draw by default for a weight of `shape`: U(±1/√fan_in).

    Returns an array of shape (shape[0],) (one bias per output unit or channel).
    """
    shape = _check_shape(shape)
    bound = 1.0 / math.sqrt(fans(shape)[0])
    return as_generator(rng).uniform(-bound, bound, size=shape[0])


# Schemes offered in the chapter's dropdowns: name -> sampler(shape, rng)
SCHEMES = {
    "zeros": lambda shape, rng=None: zeros(shape),
    "small normal (0.01)": lambda shape, rng=None: normal(shape, 0.01, rng),
    "xavier uniform": lambda shape, rng=None: xavier_uniform(shape, rng=rng),
    "xavier normal": lambda shape, rng=None: xavier_normal(shape, rng=rng),
    "he uniform": lambda shape, rng=None: kaiming_uniform(shape, nonlinearity="relu", rng=rng),
    "he normal": lambda shape, rng=None: kaiming_normal(shape, nonlinearity="relu", rng=rng),
    "lecun normal": lambda shape, rng=None: lecun_normal(shape, rng),
    "torch default": lambda shape, rng=None: torch_default_linear(shape, rng),
    "torch default, zero bias": lambda shape, rng=None: torch_default_linear(shape, rng),
}

# Schemes that also draw a non-zero bias (weight shape -> bias); every other scheme has zero bias.
# "torch default" is PyTorch's full default, weights and biases.
BIAS_SCHEMES = {"torch default": torch_default_bias}


def initialize(shape, scheme, rng=None):
    """Sample a weight of `shape` with a named scheme from SCHEMES."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {sorted(SCHEMES)}, got {scheme!r}")
    return SCHEMES[scheme](shape, rng)


# -- signal propagation through a deep plain MLP ----------------------------------------------
def propagate(X, weights, activation="tanh", grad_out=None, biases=None):
    """Forward X through h_l = f(h_{l-1} W_lᵀ + b_l) and back-propagate `grad_out` = ∂L/∂h_L.

    X: (N, d_0); weights[l]: (d_{l+1}, d_l); biases[l]: (d_{l+1},) or None (no biases).
    Returns dict of lists (one entry per layer): 'h' activations, 'z' pre-activations,
    'grad_h' ∂L/∂h_{l-1} (input side of layer l), 'grad_W' ∂L/∂W_l.
    """
    f, df = activations.get(activation)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D (N, d), got shape {X.shape}")
    if biases is not None and len(biases) != len(weights):
        raise ValueError(f"biases must have one entry per layer ({len(weights)}), got {len(biases)}")
    h, hs, zs = X, [], []
    with np.errstate(over="ignore", invalid="ignore"):
        for l, W in enumerate(weights):
            if W.ndim != 2 or W.shape[1] != h.shape[1]:
                raise ValueError(f"weights[{l}] must have shape (d_out, {h.shape[1]}), got {W.shape}")
            z = h @ W.T                      # (N, d_out)
            if biases is not None:
                if np.shape(biases[l]) != (W.shape[0],):
                    raise ValueError(f"biases[{l}] must have shape ({W.shape[0]},), got {np.shape(biases[l])}")
                z = z + biases[l]
            h = f(z)
            zs.append(z)
            hs.append(h)
        g = np.ones_like(h) if grad_out is None else np.asarray(grad_out, dtype=np.float64)
        if g.shape != h.shape:
            raise ValueError(f"grad_out must have shape {h.shape}, got {g.shape}")
        grad_h, grad_W = [None] * len(weights), [None] * len(weights)
        for l in reversed(range(len(weights))):
            g_z = g * df(zs[l])              # ∂L/∂z_l = ∂L/∂h_l ⊙ f'(z_l)
            h_prev = X if l == 0 else hs[l - 1]
            grad_W[l] = g_z.T @ h_prev       # (d_out, d_in)
            g = g_z @ weights[l]             # ∂L/∂h_{l-1}: (N, d_in)
            grad_h[l] = g
    return {"h": hs, "z": zs, "grad_h": grad_h, "grad_W": grad_W}


def layer_statistics(depth, width=128, scheme="xavier normal", activation="tanh", scale=1.0,
                     batch=128, seed=0):
    """Per-layer std of activations, of ∂L/∂h and of ∂L/∂W for a deep MLP at initialization.

    Inputs and the upstream gradient are N(0, 1); every weight is `scale` × the scheme's draw;
    biases are zero except for the schemes in BIAS_SCHEMES (not scaled). Also returns 'chi',
    per layer d_out·Var(W_l)·mean f'(z_l)²: the factor by which that layer multiplies the
    variance of the back-propagated gradient (mean-field prediction).
    """
    check_int("depth", depth, lo=1)
    check_int("width", width, lo=1)
    check_real("scale", scale, lo=0.0)
    activations.get(activation)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, width))
    weights, biases = [], []
    for _ in range(depth):
        weights.append(scale * initialize((width, width), scheme, rng))
        biases.append(BIAS_SCHEMES[scheme]((width, width), rng) if scheme in BIAS_SCHEMES
                      else np.zeros(width))
    out = propagate(X, weights, activation, grad_out=rng.standard_normal((batch, width)),
                    biases=biases)
    df = activations.get(activation)[1]
    with np.errstate(over="ignore", invalid="ignore"):
        return {"act_std": np.array([h.std() for h in out["h"]]),
                "grad_std": np.array([g.std() for g in out["grad_h"]]),
                "weight_grad_std": np.array([g.std() for g in out["grad_W"]]),
                "chi": np.array([W.shape[0] * W.var() * np.mean(df(z) ** 2)
                                 for W, z in zip(weights, out["z"])])}


def apply_init(net, scheme, rng=None, bias=None):
    """Overwrite every nn.Linear weight of a torch `net` with a NumPy draw, and its bias.

    `scheme` is a name from SCHEMES or a callable `f(shape, rng) -> array`. `bias` None: the
    scheme's bias (PyTorch's U(±1/√fan_in) for "torch default", else 0); a number: that value.
    """
    import torch
    rng = as_generator(rng)
    sample = scheme if callable(scheme) else (lambda shape, r: initialize(shape, scheme, r))
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    if not linears:
        raise ValueError("net must contain at least one torch.nn.Linear layer")
    with torch.no_grad():
        for m in linears:
            W = sample(tuple(m.weight.shape), rng)
            m.weight.copy_(torch.as_tensor(W, dtype=m.weight.dtype))
            if m.bias is None:
                continue
            if bias is None and scheme in BIAS_SCHEMES:
                b = BIAS_SCHEMES[scheme](tuple(m.weight.shape), rng)
                m.bias.copy_(torch.as_tensor(b, dtype=m.bias.dtype))
            else:
                m.bias.fill_(0.0 if bias is None else check_real("bias", bias))
    return net


def training_sweep(X, y, X_test, y_test, depths, activations_, schemes, width=64, num_epochs=6,
                   lr=0.02, batch_size=64, seed=0):
    """Train a plain MLP for every (depth, activation, scheme); {key: history with test_acc}."""
    from tqdm.auto import tqdm

    from dlbook import train
    runs = [(d, a, s) for d in depths for a in activations_ for s in schemes]
    histories = {}
    for d, a, s in tqdm(runs, desc="init sweep"):
        train.seed_everything(seed)
        net = train.mlp([X.shape[1]] + [width] * d + [int(y.max()) + 1], a).double()
        apply_init(net, s, rng=seed)
        h = train.fit(net, X, y, lr=lr, num_epochs=num_epochs, batch_size=batch_size, momentum=0.9,
                      seed=seed, progress=False)
        h["test_acc"] = train.accuracy(net, X_test, y_test)
        histories[(d, a, s)] = h
    return histories


# -- figures -----------------------------------------------------------------------------------

@lru_cache(maxsize=512)
def _cached_statistics(depth, scale, activation, scheme, width, seed):
    return layer_statistics(depth, width=width, scheme=scheme, activation=activation,
                            scale=scale, batch=width, seed=seed)


def draw_layer_statistics(fig, depth=20, scale=1.0, activation="tanh", scheme="xavier normal",
                          width=128, seed=0):
    """Two panels: std of activations and of back-propagated gradients, layer by layer.

    Meant for `interactive(..., clear=False)`: axes are built once, then only data change.
    Values that are exactly 0 or overflow cannot sit on a log axis; a message says so.
    """
    stats = _cached_statistics(int(depth), round(float(scale), 4), activation, scheme, width, seed)
    if plot.artists(fig, "layer_statistics") is None:
        fig.clear()
        axes = fig.subplots(1, 2, sharex=True)
        for ax, title, color in zip(axes, ("forward: std of activations h",
                                           "backward: std of gradients ∂L/∂h"), plot.COLORS):
            ax.plot([], [], "o-", ms=3, color=color)
            ax.axhline(1.0, color="grey", lw=0.8, ls="--")
            plot.log_yaxis(ax, 1e-10, 1e10, every=4)
            ax.set_xlabel("layer")
            ax.set_title(title)
            plot.message(ax, "")
        axes[0].set_ylabel("standard deviation")
        fig.suptitle(" ", fontsize=10)
        plot.keep_artists(fig, "layer_statistics")
    layers = np.arange(1, depth + 1)
    for ax, values in zip(fig.axes, (stats["act_std"], stats["grad_std"])):
        ok = np.isfinite(values) & (values > 0)
        ax.lines[0].set_data(layers[ok], values[ok])
        with np.errstate(invalid="ignore"):   # off the fixed 1e-10…1e10 axis: say how many
            counts = [(np.sum(values == 0), "exactly 0"), (np.sum(ok & (values < 1e-10)), "below 1e-10"),
                      (np.sum(ok & (values > 1e10)), "above 1e10"), (np.sum(~np.isfinite(values)), "overflow")]
        plot.set_message(ax.texts[0], "\n".join(f"{n} layer(s) {what}" for n, what in counts if n))
        ax.set_xlim(0.5, depth + 0.5)
    last_a, first_g = stats["act_std"][-1], stats["grad_std"][0]
    fig.suptitle(f"{scheme} × {scale:.2f}, {activation}, depth {depth}:  std(h_L) = {last_a:.2g},"
                 f"  std(∂L/∂h_0) = {first_g:.2g}", fontsize=10)


@lru_cache(maxsize=64)
def _cached_histograms(scheme, activation, depth, width, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((width, width))
    weights = [initialize((width, width), scheme, rng) for _ in range(depth)]
    return propagate(X, weights, activation)["h"]


def draw_activation_histograms(fig, scheme="xavier normal", activation="tanh", depth=10,
                               width=256, seed=0, bins=40):
    """Histograms of the activations of every other layer of a deep MLP at initialization.

    For `interactive(..., clear=False)`: five panels are built once; moves update their bars.
    """
    hs = _cached_histograms(scheme, activation, depth, width, seed)
    shown = list(range(1, depth, 2))[:5]
    lo, hi = {"relu": (0, 3), "sigmoid": (0, 1), "tanh": (-1, 1)}.get(activation, (-3, 3))
    edges = np.linspace(lo, hi, bins + 1)
    if plot.artists(fig, "activation_histograms") is None:
        fig.clear()
        for ax in np.atleast_1d(fig.subplots(1, len(shown))):
            ax.stairs(np.zeros(bins), edges, fill=True, color=plot.COLORS[0])
            ax.set_title(" ", fontsize=9)
            ax.set_yticks([])
            ax.set_ylim(0, 1.05)
            ax.grid(False)
        fig.suptitle(" ", fontsize=10)
        plot.keep_artists(fig, "activation_histograms")
    for ax, l in zip(fig.axes, shown):
        h = hs[l].ravel()
        h = h[np.isfinite(h)]
        counts, _ = np.histogram(np.clip(h, lo, hi), bins=edges)
        ax.patches[0].set_data(counts / max(counts.max(), 1), edges)  # tallest bar = 1
        ax.set_xlim(lo, hi)
        ax.set_title(f"layer {l + 1}\nstd {h.std():.2g}", fontsize=9)
    fig.suptitle(f"activations at initialization: {scheme}, {activation}", fontsize=10)


def draw_training_curves(fig, histories, depth, activation, metric="train_loss"):
    """Training-loss curves per scheme from precomputed `histories[(depth, activation, scheme)]`.

    For `interactive(..., clear=False)`: one line per scheme, built once, then given new data.
    """
    schemes = list(dict.fromkeys(s for (_, _, s) in histories))
    if plot.artists(fig, "training_curves") is None:
        fig.clear()
        ax = fig.subplots()
        for color, s in zip(plot.COLORS, schemes):
            ax.plot([], [], "o-", ms=3, color=color, label=s)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric.replace("_", " "))
        ax.set_ylim(0, 2.5)
        ax.axhline(np.log(10), color="grey", lw=0.8, ls="--")
        ax.text(0.99, np.log(10), "ln 10: chance", ha="right", va="bottom", fontsize=8,
                transform=ax.get_yaxis_transform())
        ax.legend(ncol=2, loc="upper right", bbox_to_anchor=(1.0, 0.9))
        plot.keep_artists(fig, "training_curves")
    ax = fig.axes[0]
    n_epochs = 1
    for line, s in zip(ax.lines, schemes):
        run = histories.get((depth, activation, s))
        y = np.asarray(run[metric] if run else [], dtype=float)
        line.set_data(np.arange(1, len(y) + 1), np.where(np.isfinite(y), y, np.nan))
        n_epochs = max(n_epochs, len(y))
    ax.set_xlim(0.5, n_epochs + 0.5)
    ax.set_title(f"{depth} hidden layers, {activation}")
