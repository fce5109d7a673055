"""Normalization layers in NumPy: BatchNorm (training, inference, running statistics) and LayerNorm.

Shapes follow PyTorch: BatchNorm1d takes (N, C) or (N, C, L) and normalizes each channel C
over the batch (and length); LayerNorm normalizes each sample over its trailing
`normalized_shape` dimensions. torch is imported lazily (training demos only). Gradient flow
through depth and gradient clipping live in `dlbook.gradflow`.
"""
import math
from functools import lru_cache

import numpy as np

from dlbook import plot
from dlbook.checks import check_int, check_positive, check_real, finite_array


# -- argument checks ---------------------------------------------------------------------------
def _check_momentum(momentum):
    return None if momentum is None else check_real("momentum", momentum, 0.0, 1.0)


# -- BatchNorm ---------------------------------------------------------------------------------
def _bn_axes(x):
    """Axes BatchNorm1d averages over: (0,) for (N, C), (0, 2) for (N, C, L)."""
    if x.ndim in (2, 3) and x.shape[1] == 0:
        raise ValueError(f"x must have at least one channel (C >= 1), got shape {x.shape}")
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
        self.num_features = check_int("num_features", num_features, 1)
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
            dx = dy * _channel(self.gamma * c["inv_std"], dy)     # y is affine in x: ∂y/∂x = γ/σ_run
        else:
            dx, self.dgamma, self.dbeta = batchnorm_backward(dy, c)
        if not self.affine:                     # γ = 1, β = 0 are constants: nothing to learn
            self.dgamma, self.dbeta = np.zeros(self.num_features), np.zeros(self.num_features)
        return dx


# -- LayerNorm ---------------------------------------------------------------------------------
def _normalized_shape(normalized_shape):
    dims = (normalized_shape,) if np.ndim(normalized_shape) == 0 else tuple(normalized_shape)
    if not dims:
        raise ValueError("normalized_shape must be a positive int or a non-empty tuple of them")
    return tuple(check_int("normalized_shape", d, 1) for d in dims)


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


# -- batch-size noise of BatchNorm's statistics -------------------------------------------------
def batch_statistics(x, batch_size, num_batches=2000, index=0, eps=1e-5, seed=0):
    """Statistics BatchNorm sees for one feature x (N,) over random batches containing x[index].

    Each batch is x[index] plus batch_size − 1 rows drawn with replacement. Returns the batch
    means, batch stds (biased, as BN normalizes) and x[index]'s normalized value in each batch.
    """
    x = finite_array("x", x)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"x must be 1-D with at least 2 values, got shape {x.shape}")
    batch_size = check_int("batch_size", batch_size, 1)
    index = check_int("index", index, 0, x.size - 1)
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
    state = plot.artists(fig, "batch_noise")
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
        state = plot.keep_artists(fig, "batch_noise", bars=bars, pops=pops,
                                  note=plot.message(axes[2], ""))
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
    plot.set_message(state["note"], "batch of 1: x − μ_B = 0 always" if batch_size == 1 else "")
    fig.suptitle(f"batch size {batch_size}: {len(s['mean'])} random batches", fontsize=10)


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


def fit_bn_variant(X_train, y_train, X_test=None, y_test=None, bn=True, noise=0.0, lr=0.05,
                   num_epochs=30, batch_size=32, seed=0, progress=False):
    """Train `bn_mlp` with dlbook.train.fit (SGD); return (history, final train acc, test acc).

    Without a test set the test accuracy is NaN (and training is faster)."""
    from dlbook import train
    train.seed_everything(seed)
    net = bn_mlp(X_train.shape[1], int(y_train.max()) + 1, bn=bn, noise=noise).double()
    hist = train.fit(net, X_train, y_train, lr=lr, num_epochs=num_epochs, batch_size=batch_size,
                     X_val=X_test, y_val=y_test, seed=seed, progress=progress)
    return hist, hist["train_acc"][-1], hist["val_acc"][-1] if hist["val_acc"] else float("nan")


def finetune_copy(net, X, y, bn_mode="train", lr=0.05, steps=30, batch_size=10, seed=0):
    """Fine-tune a *copy* of a pre-trained torch `net` with SGD on (X, y); return (copy, losses).

    bn_mode "train": BatchNorm layers use batch statistics and their running statistics follow
    the new data (momentum rule); "frozen": BatchNorm layers stay in eval mode, normalizing with
    the pre-training running statistics, which never change (their gamma, beta still learn).
    """
    import copy

    import torch
    if bn_mode not in ("train", "frozen"):
        raise ValueError(f"bn_mode must be 'train' or 'frozen', got {bn_mode!r}")
    check_positive("lr", lr)
    steps = check_int("steps", steps, 1)
    batch_size = check_int("batch_size", batch_size, 2)
    net = copy.deepcopy(net)
    dtype = next(net.parameters()).dtype
    X = torch.as_tensor(finite_array("X", X), dtype=dtype)
    y = torch.as_tensor(np.asarray(y), dtype=torch.long)
    if len(X) != len(y) or len(X) < batch_size:
        raise ValueError(f"X and y must have the same length >= batch_size, got {len(X)} and {len(y)}")
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    net.train()
    if bn_mode == "frozen":
        for mod in net.modules():
            if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
                mod.eval()                            # running statistics used, never updated
    losses = []
    for _ in range(steps):
        idx = torch.randperm(len(X), generator=gen)[:batch_size]
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(X[idx]), y[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    net.eval()
    return net, np.array(losses)


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
