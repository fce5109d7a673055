"""Normalization layers and gradient-flow tools in NumPy: BatchNorm, LayerNorm, gradient clipping.

Shapes follow PyTorch: BatchNorm1d takes (N, C) or (N, C, L) and normalizes each channel C
over the batch (and length); LayerNorm normalizes each sample over its trailing
`normalized_shape` dimensions. torch is imported lazily (training demos only).
"""
import math
from functools import lru_cache
from numbers import Real

import numpy as np
from matplotlib.patches import Rectangle
from matplotlib.ticker import LogLocator, NullLocator

from dlbook import plot
from dlbook.checks import check_positive, finite_array


# -- argument checks ---------------------------------------------------------------------------
def _check_momentum(momentum):
    if momentum is None:
        return None
    if isinstance(momentum, bool) or not isinstance(momentum, Real) or not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be a number in [0, 1] or None, got {momentum!r}")
    return float(momentum)


# -- BatchNorm ---------------------------------------------------------------------------------
def _bn_axes(x):
    """Axes BatchNorm1d averages over: (0,) for (N, C), (0, 2) for (N, C, L)."""
    if x.ndim == 2:
        return (0,)
    if x.ndim == 3:
        return (0, 2)
    raise ValueError(f"x must have shape (N, C) or (N, C, L), got {x.shape}")


def _channel(v, x):
    """Reshape a per-channel vector (C,) so it broadcasts against x: (C,) or (1, C, 1)."""
    return v if x.ndim == 2 else v[None, :, None]


def _check_channel_vector(v, name, C):
    v = finite_array(name, v)
    if v.shape != (C,):
        raise ValueError(f"{name} must have shape ({C},), got {v.shape}")
    return v


def batchnorm_forward(x, gamma, beta, eps=1e-5):
    """Training-mode BatchNorm: normalize each channel with the batch mean and *biased* variance.

    x: (N, C) or (N, C, L); gamma, beta: (C,). Returns y (same shape as x) and a cache holding
    what the backward pass and the running-statistics update need.
    """
    x = finite_array("x", x)
    axes = _bn_axes(x)
    C = x.shape[1]
    gamma = _check_channel_vector(gamma, "gamma", C)
    beta = _check_channel_vector(beta, "beta", C)
    eps = check_positive("eps", eps)
    m = x.size // C                                   # values per channel: N or N·L
    if m < 2:
        raise ValueError(f"x: expected more than 1 value per channel when training, got shape {x.shape}")
    mu = x.mean(axis=axes)                            # (C,)  μ_B = (1/m) Σ x
    var = x.var(axis=axes)                            # (C,)  σ²_B = (1/m) Σ (x − μ_B)²  (biased)
    inv_std = 1.0 / np.sqrt(var + eps)                # (C,)  1/√(σ²_B + ε)
    x_hat = (x - _channel(mu, x)) * _channel(inv_std, x)
    y = _channel(gamma, x) * x_hat + _channel(beta, x)
    cache = {"x_hat": x_hat, "gamma": gamma, "inv_std": inv_std, "axes": axes, "m": m,
             "mean": mu, "var": var, "var_unbiased": var * m / (m - 1)}
    return y, cache


def batchnorm_backward(dy, cache):
    """Gradients (dx, dgamma, dbeta) of training-mode BatchNorm, given dy = ∂L/∂y.

    dx = γ/(m·σ) · (m·dy − Σ dy − x̂ · Σ dy·x̂), sums over the batch axes: the two
    subtracted terms are the paths through μ_B and σ²_B.
    """
    x_hat, axes, m = cache["x_hat"], cache["axes"], cache["m"]
    dy = finite_array("dy", dy)
    if dy.shape != x_hat.shape:
        raise ValueError(f"dy must have shape {x_hat.shape}, got {dy.shape}")
    dbeta = dy.sum(axis=axes)                         # (C,)
    dgamma = (dy * x_hat).sum(axis=axes)              # (C,)
    g = _channel(cache["gamma"] * cache["inv_std"] / m, x_hat)
    dx = g * (m * dy - _channel(dbeta, x_hat) - x_hat * _channel(dgamma, x_hat))
    return dx, dgamma, dbeta


def batchnorm_inference(x, gamma, beta, running_mean, running_var, eps=1e-5):
    """Eval-mode BatchNorm: a fixed affine map per channel using the running statistics."""
    x = finite_array("x", x)
    _bn_axes(x)
    C = x.shape[1]
    gamma = _check_channel_vector(gamma, "gamma", C)
    beta = _check_channel_vector(beta, "beta", C)
    running_mean = _check_channel_vector(running_mean, "running_mean", C)
    running_var = _check_channel_vector(running_var, "running_var", C)
    eps = check_positive("eps", eps)
    inv_std = 1.0 / np.sqrt(running_var + eps)
    return _channel(gamma * inv_std, x) * (x - _channel(running_mean, x)) + _channel(beta, x)


def update_running_stats(running_mean, running_var, mean, var_unbiased, momentum):
    """PyTorch's rule: r ← (1 − momentum)·r + momentum·batch, with the *unbiased* batch variance.

    (Keras calls 1 − momentum its "momentum": 0.99 there is 0.01 here.)
    """
    momentum = _check_momentum(momentum)
    if momentum is None:
        raise ValueError("momentum must be a number here; BatchNorm1d handles momentum=None")
    new_mean = (1.0 - momentum) * running_mean + momentum * mean
    new_var = (1.0 - momentum) * running_var + momentum * var_unbiased
    return new_mean, new_var


class BatchNorm1d:
    """NumPy twin of torch.nn.BatchNorm1d: batch statistics in train(), running ones in eval().

    momentum=None gives the cumulative average (factor 1 / number of batches seen), as in torch.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)) \
                or num_features < 1:
            raise ValueError(f"num_features must be a positive int, got {num_features!r}")
        self.num_features = int(num_features)
        self.eps = check_positive("eps", eps)
        self.momentum = _check_momentum(momentum)
        self.affine = bool(affine)
        self.gamma = np.ones(self.num_features)       # torch: weight
        self.beta = np.zeros(self.num_features)       # torch: bias
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)
        self.num_batches_tracked = 0
        self.training = True
        self._cache = None

    def train(self, mode=True):
        self.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def forward(self, x):
        x = finite_array("x", x)
        _bn_axes(x)
        if x.shape[1] != self.num_features:
            raise ValueError(f"x must have {self.num_features} channels in dim 1, got shape {x.shape}")
        if not self.training:
            self._cache = {"eval": True, "shape": x.shape,
                           "inv_std": 1.0 / np.sqrt(self.running_var + self.eps), "x": x}
            return batchnorm_inference(x, self.gamma, self.beta, self.running_mean,
                                       self.running_var, self.eps)
        y, cache = batchnorm_forward(x, self.gamma, self.beta, self.eps)
        self.num_batches_tracked += 1
        factor = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        self.running_mean, self.running_var = update_running_stats(
            self.running_mean, self.running_var, cache["mean"], cache["var_unbiased"], factor)
        self._cache = cache
        return y

    __call__ = forward

    def backward(self, dy):
        """Return dx; store dgamma and dbeta (zero-gradient for them when affine=False)."""
        if self._cache is None:
            raise ValueError("dy: call forward before backward")
        c = self._cache
        if c.get("eval"):
            dy = finite_array("dy", dy)
            if dy.shape != c["shape"]:
                raise ValueError(f"dy must have shape {c['shape']}, got {dy.shape}")
            x_hat = (c["x"] - _channel(self.running_mean, c["x"])) * _channel(c["inv_std"], c["x"])
            axes = _bn_axes(dy)
            self.dgamma, self.dbeta = (dy * x_hat).sum(axis=axes), dy.sum(axis=axes)
            return dy * _channel(self.gamma * c["inv_std"], dy)   # y is affine in x: ∂y/∂x = γ/σ_run
        dx, self.dgamma, self.dbeta = batchnorm_backward(dy, c)
        return dx


# -- LayerNorm ---------------------------------------------------------------------------------
def _normalized_shape(normalized_shape):
    if isinstance(normalized_shape, (int, np.integer)) and not isinstance(normalized_shape, bool):
        normalized_shape = (int(normalized_shape),)
    shape = tuple(normalized_shape)
    if not shape or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1
                        for d in shape):
        raise ValueError("normalized_shape must be a positive int or a tuple of them, "
                         f"got {normalized_shape!r}")
    return tuple(int(d) for d in shape)


def layernorm_forward(x, gamma, beta, eps=1e-5):
    """LayerNorm: normalize each sample over its last gamma.ndim dims (biased variance).

    x: (..., *S); gamma, beta: S. Same computation in training and inference.
    """
    x = finite_array("x", x)
    gamma = finite_array("gamma", gamma)
    beta = finite_array("beta", beta)
    S = gamma.shape
    if gamma.ndim == 0 or x.shape[x.ndim - gamma.ndim:] != S or x.ndim < gamma.ndim:
        raise ValueError(f"gamma must match the trailing dims of x {x.shape}, got {S}")
    if beta.shape != S:
        raise ValueError(f"beta must have shape {S}, got {beta.shape}")
    eps = check_positive("eps", eps)
    axes = tuple(range(x.ndim - len(S), x.ndim))
    mu = x.mean(axis=axes, keepdims=True)             # (..., 1, ...) one mean per sample
    var = x.var(axis=axes, keepdims=True)             # biased, as torch
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mu) * inv_std
    y = gamma * x_hat + beta
    return y, {"x_hat": x_hat, "gamma": gamma, "inv_std": inv_std, "axes": axes,
               "m": math.prod(S)}


def layernorm_backward(dy, cache):
    """(dx, dgamma, dbeta) of LayerNorm: BatchNorm's formula with the roles of the axes swapped."""
    x_hat, axes, m = cache["x_hat"], cache["axes"], cache["m"]
    dy = finite_array("dy", dy)
    if dy.shape != x_hat.shape:
        raise ValueError(f"dy must have shape {x_hat.shape}, got {dy.shape}")
    batch_axes = tuple(range(x_hat.ndim - len(axes)))
    dbeta = dy.sum(axis=batch_axes)                   # S
    dgamma = (dy * x_hat).sum(axis=batch_axes)        # S
    g = dy * cache["gamma"]                           # ∂L/∂x̂
    dx = cache["inv_std"] / m * (m * g - g.sum(axis=axes, keepdims=True)
                                 - x_hat * (g * x_hat).sum(axis=axes, keepdims=True))
    return dx, dgamma, dbeta


class LayerNorm:
    """NumPy twin of torch.nn.LayerNorm(normalized_shape, eps); no running statistics."""

    def __init__(self, normalized_shape, eps=1e-5):
        self.normalized_shape = _normalized_shape(normalized_shape)
        self.eps = check_positive("eps", eps)
        self.gamma = np.ones(self.normalized_shape)
        self.beta = np.zeros(self.normalized_shape)
        self._cache = None

    def forward(self, x):
        y, self._cache = layernorm_forward(x, self.gamma, self.beta, self.eps)
        return y

    __call__ = forward

    def backward(self, dy):
        if self._cache is None:
            raise ValueError("dy: call forward before backward")
        dx, self.dgamma, self.dbeta = layernorm_backward(dy, self._cache)
        return dx


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
    scaled, by max_norm / (max_norm + 1e-6).
    """
    grads = _as_grads(grads)
    max_norm = check_positive("max_norm", max_norm)
    if isinstance(eps, bool) or not isinstance(eps, Real) or not eps >= 0:
        raise ValueError(f"eps must be a number >= 0, got {eps!r}")
    norm = total_norm(grads, norm_type)
    with np.errstate(invalid="ignore", divide="ignore"):
        coef = min(max_norm / (norm + eps), 1.0) if np.isfinite(norm) else max_norm / norm
    return [g * coef for g in grads], norm


def clip_grad_value(grads, clip_value):
    """torch.nn.utils.clip_grad_value_ without the in-place: clamp each entry to [−c, c]."""
    grads = _as_grads(grads)
    clip_value = check_positive("clip_value", clip_value)
    return [np.clip(g, -clip_value, clip_value) for g in grads]


# -- batch-size noise of BatchNorm's statistics -------------------------------------------------
def batch_statistics(x, batch_size, num_batches=2000, index=0, eps=1e-5, seed=0):
    """Statistics BatchNorm sees for one feature x (N,) over random batches containing x[index].

    Each batch is x[index] plus batch_size − 1 rows drawn with replacement. Returns the batch
    means, batch stds (biased, as BN normalizes) and x[index]'s normalized value in each batch.
    """
    x = finite_array("x", x)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"x must be 1-D with at least 2 values, got shape {x.shape}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if not isinstance(index, (int, np.integer)) or not 0 <= index < x.size:
        raise ValueError(f"index must be in [0, {x.size}), got {index!r}")
    rng = np.random.default_rng(seed)
    others = x[rng.integers(0, x.size, size=(num_batches, batch_size - 1))]
    batch = np.concatenate([np.full((num_batches, 1), x[index]), others], axis=1)  # (R, B)
    mean, std = batch.mean(axis=1), batch.std(axis=1)
    return {"mean": mean, "std": std, "x_hat": (x[index] - mean) / np.sqrt(std ** 2 + eps)}


@lru_cache(maxsize=512)
def _cached_batch_statistics(key, batch_size, index, seed):
    return batch_statistics(_FEATURES[key], batch_size, index=index, seed=seed)


_FEATURES = {}


def register_feature(name, x):
    """Keep a feature vector under `name` so the batch-size figure can cache its statistics."""
    _FEATURES[name] = finite_array("x", x).ravel()
    _cached_batch_statistics.cache_clear()
    return name


def _figure_state(fig, kind):
    """Artists a persistent (`clear=False`) figure built on an earlier call, or None.

    None when the figure is empty, was cleared, or was last drawn by another kind of figure:
    the caller then (re)builds its axes once and only updates them on later calls.
    """
    state = getattr(fig, "_dlbook_norm_state", None)
    if state is None or state["kind"] != kind or not fig.axes \
            or any(ax not in fig.axes for ax in state["axes"]):
        return None
    return state


def _new_figure_state(fig, kind, axes, **artists):
    fig._dlbook_norm_state = {"kind": kind, "axes": list(axes), **artists}
    return fig._dlbook_norm_state


def _hidden_message(ax, color="#D55E00"):
    """An empty, invisible `plot.message` text to fill in later (the same look)."""
    plot.message(ax, "", color=color)
    text = ax.texts[-1]
    text.set_visible(False)
    return text


def _show(text, message):
    text.set_text(message)
    text.set_visible(bool(message))


def draw_batch_noise(fig, batch_size=16, feature="feature", index=0, seed=0):
    """Three histograms: batch mean, batch std and one example's BN output vs population values.

    Works with `interactive(..., clear=False)`: the panels are built once, later calls only give
    the histograms, titles and messages new data (statistics are cached per batch size).
    """
    if feature not in _FEATURES:
        raise ValueError(f"feature {feature!r} is not registered; call register_feature first")
    x = _FEATURES[feature]
    s = _cached_batch_statistics(feature, int(batch_size), int(index), seed)
    mu, sigma = x.mean(), x.std()
    x_hat_pop = (x[index] - mu) / sigma
    panels = [("batch mean $\\mu_B$", s["mean"], mu, (x.min(), x.max())),
              ("batch std $\\sigma_B$", s["std"], sigma, (0, 2.2 * sigma)),
              ("BN output of one example", s["x_hat"], x_hat_pop, (x_hat_pop - 4, x_hat_pop + 4))]
    state = _figure_state(fig, "batch_noise")
    if state is None:
        fig.clear()
        axes = fig.subplots(1, 3)
        bars, pops = [], []
        for ax in axes:
            bars.append(ax.stairs(np.zeros(40), np.arange(41.0), fill=True, color=plot.COLORS[0],
                                  alpha=0.8))                                 # one artist: fast
            pops.append(ax.axvline(0.0, color=plot.COLORS[1], lw=2, label="population"))
            ax.set_title(" ", fontsize=9)
            ax.set_yticks([])
            ax.grid(False)
        axes[0].legend(loc="upper right")
        state = _new_figure_state(fig, "batch_noise", axes, bars=bars, pops=pops,
                                  note=_hidden_message(axes[2]))
    for ax, bar, pop_line, (title, values, pop, lim) in zip(state["axes"], state["bars"],
                                                             state["pops"], panels):
        counts, edges = np.histogram(np.clip(values, *lim), bins=40, range=lim)
        bar.set_data(counts, edges)
        pop_line.set_xdata([pop, pop])
        # the limits autoscaling gives (5% margins; bars stick to 0), without a costly relim()
        x0, x1 = min(edges[0], pop), max(edges[-1], pop)
        ax.set_xlim(x0 - (x1 - x0) * 0.05, x1 + (x1 - x0) * 0.05)
        ax.set_ylim(0, counts.max() + counts.max() * 0.05)
        spread = values.std()
        ax.set_title(f"{title}\nspread (std) {spread:.3g}", fontsize=9)
    _show(state["note"], "batch of 1: x − μ_B = 0 always" if batch_size == 1 else "")
    fig.suptitle(f"batch size {batch_size}: {len(s['mean'])} random batches", fontsize=10)


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
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a positive int, got {v!r}")

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
    from dlbook import init
    torch.manual_seed(seed)
    net = deep_mlp(X.shape[1], int(y.max()) + 1, depth, width, arch, activation).double()
    init.apply_init(net, "he normal" if activation == "relu" else "xavier normal", rng=seed)
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
    state = _figure_state(fig, "gradient_flow")
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
        state = _new_figure_state(fig, "gradient_flow", (ax1, ax2), curves=curves,
                                  loss=(loss_line, loss_dots, loss_off), diverged=diverged,
                                  legend_labels=None)
        state["underflow"] = _hidden_message(ax1)
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
    _show(state["underflow"], "" if np.all(np.isfinite(r["init"]) & (r["init"] > 0))
          else "some gradients are exactly 0 (underflow)")
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
    _show(state["diverged"], note)


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
    state = _figure_state(fig, "clipping")
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
        state = _new_figure_state(fig, "clipping", (ax1, ax2), norm=(norm_line, on, below),
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
    _show(state["free_note"], "" if free["diverged_at"] is None
          else f"no clipping: loss NaN at step {free['diverged_at']}")
    ax2.relim()
    ax2.autoscale_view(scaley=False)
    ax2.set_title(f"final loss {r['loss'][-1]:.3g}", fontsize=10)


# -- BatchNorm as a regularizer, and the "internal covariate shift" test (torch) -----------------
def bn_mlp(d_in, d_out, width=64, bn=True, noise=0.0):
    """Linear → [BN] → [noise] → ReLU, twice, then Linear. `noise` > 0 injects a fresh random
    per-unit scale (1 + noise·N(0,1)) and shift (noise·N(0,1)) after each BN at every training
    step: a deliberately shifting input distribution for the next layer (Santurkar et al., 2018)."""
    import torch
    import torch.nn as nn

    class NoisyShift(nn.Module):
        def forward(self, h):                          # h: (N, width)
            if not self.training or noise == 0:
                return h
            scale = 1 + noise * torch.randn(1, h.shape[1], dtype=h.dtype)
            shift = noise * torch.randn(1, h.shape[1], dtype=h.dtype)
            return h * scale + shift

    layers, d = [], d_in
    for _ in range(2):
        layers += [nn.Linear(d, width)] + ([nn.BatchNorm1d(width), NoisyShift()] if bn else []) + [nn.ReLU()]
        d = width
    return nn.Sequential(*layers, nn.Linear(d, d_out))


def fit_bn_variant(X_train, y_train, X_test, y_test, bn=True, noise=0.0, lr=0.05, num_epochs=30,
                   batch_size=32, seed=0, progress=False):
    """Train `bn_mlp` with dlbook.train.fit (SGD); return (history, final train acc, test acc)."""
    from dlbook import train
    train.seed_everything(seed)
    net = bn_mlp(X_train.shape[1], int(y_train.max()) + 1, bn=bn, noise=noise).double()
    hist = train.fit(net, X_train, y_train, lr=lr, num_epochs=num_epochs, batch_size=batch_size,
                     X_val=X_test, y_val=y_test, seed=seed, progress=progress)
    return hist, hist["train_acc"][-1], hist["val_acc"][-1]


# -- static figures ------------------------------------------------------------------------------
def plot_noise_vs_batch_size(x, sizes=(2, 4, 8, 16, 32, 64, 128, 256), index=0, seed=0):
    """Spread of μ_B, σ_B and of one example's BN output against batch size, with σ/√B."""
    x = finite_array("x", x)
    sizes = np.asarray(sizes)
    spread = np.array([[s.std() for s in (st["mean"], st["std"], st["x_hat"])]
                       for st in (batch_statistics(x, int(b), index=index, seed=seed) for b in sizes)])
    fig, ax = plot.figure(figsize=(6.5, 3.2))
    for k, label in enumerate(["batch mean $\\mu_B$", "batch std $\\sigma_B$", "BN output $\\hat x$"]):
        ax.loglog(sizes, spread[:, k], "o-", ms=4, label=label)
    ax.loglog(sizes, x.std() / np.sqrt(sizes), "k--", lw=1, label=r"$\sigma/\sqrt{B}$")
    ax.set_xlabel("batch size $B$")
    ax.set_ylabel("std over random batches")
    ax.legend()
    return fig


def plot_running_mean(traces, population, xlabel="training step"):
    """Running-mean trajectories (dict label -> array) against the population mean."""
    fig, ax = plot.figure(figsize=(6.5, 3.0))
    for label, tr in traces.items():
        ax.plot(np.arange(1, len(tr) + 1), tr, label=label)
    ax.axhline(population, color="k", ls="--", lw=1, label="population mean")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("running_mean")
    ax.legend()
    return fig
