"""Gradient-descent optimizers in NumPy, step for step the same as `torch.optim`.

Each optimizer holds a list of float arrays (the parameters) and updates them IN PLACE when
`step(grads)` is given one gradient array per parameter, exactly like `opt.step()` after
`loss.backward()` in PyTorch. The conventions (where weight decay enters, where eps sits, how
the first momentum buffer is filled) follow torch 2.x's single-tensor ("foreach=False") code.

Also here: the gradient of softmax regression (per example, for measuring mini-batch gradient
noise), batch-size studies and their figure. Paths on 2-D loss surfaces: `dlbook.surfaces`.
"""
import math

import numpy as np

from dlbook import activations, plot
from dlbook.checks import check_int, check_real
from dlbook.util import one_blas_thread


# -- the optimizers -----------------------------------------------------------------------------
def _check_params(params):
    params = list(params)
    if not params:
        raise ValueError("params must hold at least one array")
    for i, p in enumerate(params):
        if not isinstance(p, np.ndarray) or not np.issubdtype(p.dtype, np.floating):
            raise ValueError(f"params[{i}] must be a float numpy array (updated in place)")
    return params


class Optimizer:
    """Base class: `step(grads)` applies `_update(p, g, state)` to every parameter in place.

    Unlike torch.optim there is no `maximize` flag: the book only minimises losses, so to
    maximise f pass the gradients of −f (what torch does internally).
    """

    def __init__(self, params, lr):
        self.params = _check_params(params)
        self.lr = check_real("lr", lr, 0.0)
        self.state = [{} for _ in self.params]  # one dict per parameter, like torch's opt.state

    def step(self, grads):
        grads = list(grads)
        if len(grads) != len(self.params):
            raise ValueError(f"grads must hold {len(self.params)} arrays, got {len(grads)}")
        for i, (p, g, state) in enumerate(zip(self.params, grads, self.state)):
            g = np.asarray(g, dtype=p.dtype)
            if g.shape != p.shape:
                raise ValueError(f"grads[{i}] has shape {g.shape}, expected {p.shape}")
            self._update(p, g, state)

    def _update(self, p, g, state):
        raise NotImplementedError


class SGD(Optimizer):
    """torch.optim.SGD: g += wd·p; b = μ·b + (1−τ)·g (b₁ = g); step g + μ·b (Nesterov) or b."""

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False):
        super().__init__(params, lr)
        self.momentum = check_real("momentum", momentum, 0.0)
        self.dampening = check_real("dampening", dampening, 0.0)
        self.weight_decay = check_real("weight_decay", weight_decay, 0.0)
        if nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError("nesterov requires momentum > 0 and dampening = 0")
        self.nesterov = bool(nesterov)

    def _update(self, p, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * p                    # L2 penalty folded into the gradient
        if self.momentum:
            if "momentum_buffer" not in state:
                b = g.copy()                                 # first step: buffer = gradient (no damping)
            else:
                b = self.momentum * state["momentum_buffer"] + (1 - self.dampening) * g
            state["momentum_buffer"] = b
            g = g + self.momentum * b if self.nesterov else b
        p -= self.lr * g


class Adagrad(Optimizer):
    """torch.optim.Adagrad: s += g²; p −= lr_t · g / (√s + eps), lr_t = lr / (1 + (t−1)·lr_decay)."""

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10):
        super().__init__(params, lr)
        self.lr_decay = check_real("lr_decay", lr_decay, 0.0)
        self.weight_decay = check_real("weight_decay", weight_decay, 0.0)
        self.initial_accumulator_value = check_real("initial_accumulator_value", initial_accumulator_value, 0.0)
        self.eps = check_real("eps", eps, 0.0)

    def _update(self, p, g, state):
        if not state:
            state["step"] = 0
            state["sum"] = np.full_like(p, self.initial_accumulator_value)
        state["step"] += 1
        if self.weight_decay:
            g = g + self.weight_decay * p
        clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        state["sum"] += g * g                                # every squared gradient, forever
        p -= clr * g / (np.sqrt(state["sum"]) + self.eps)


class RMSprop(Optimizer):
    """torch.optim.RMSprop: v = α·v + (1−α)·g²; p −= lr · g / (√v + eps) (eps OUTSIDE the root)."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False):
        super().__init__(params, lr)
        self.alpha = check_real("alpha", alpha, 0.0, 1.0)
        self.eps = check_real("eps", eps, 0.0)
        self.weight_decay = check_real("weight_decay", weight_decay, 0.0)
        self.momentum = check_real("momentum", momentum, 0.0)
        self.centered = bool(centered)

    def _update(self, p, g, state):
        if not state:
            state["square_avg"] = np.zeros_like(p)
            state["grad_avg"] = np.zeros_like(p)
            state["momentum_buffer"] = np.zeros_like(p)      # zeros, unlike SGD's first-step copy
        if self.weight_decay:
            g = g + self.weight_decay * p
        v = state["square_avg"] = self.alpha * state["square_avg"] + (1 - self.alpha) * g * g
        if self.centered:                                    # subtract the squared mean gradient
            m = state["grad_avg"] = self.alpha * state["grad_avg"] + (1 - self.alpha) * g
            denom = np.sqrt(v - m * m) + self.eps
        else:
            denom = np.sqrt(v) + self.eps
        if self.momentum:
            b = state["momentum_buffer"] = self.momentum * state["momentum_buffer"] + g / denom
            p -= self.lr * b
        else:
            p -= self.lr * g / denom


class Adam(Optimizer):
    """torch.optim.Adam: m, v moving averages of g, g²; p −= lr·m̂ / (√v̂ + eps), L2 decay in g."""

    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        super().__init__(params, lr)
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair, got {betas!r}")
        self.beta1 = check_real("betas[0]", betas[0], 0.0, 1.0, hi_open=True)
        self.beta2 = check_real("betas[1]", betas[1], 0.0, 1.0, hi_open=True)
        self.eps = check_real("eps", eps, 0.0)
        self.weight_decay = check_real("weight_decay", weight_decay, 0.0)
        self.amsgrad = bool(amsgrad)

    def _update(self, p, g, state):
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p),
                         max_exp_avg_sq=np.zeros_like(p))
        state["step"] += 1
        t = state["step"]
        if self.weight_decay:
            if self.decoupled:
                p *= 1 - self.lr * self.weight_decay         # AdamW: shrink p, gradient untouched
            else:
                g = g + self.weight_decay * p                # Adam: L2 term goes through m and v
        m = state["exp_avg"] = self.beta1 * state["exp_avg"] + (1 - self.beta1) * g
        v = state["exp_avg_sq"] = self.beta2 * state["exp_avg_sq"] + (1 - self.beta2) * g * g
        if self.amsgrad:
            v = state["max_exp_avg_sq"] = np.maximum(state["max_exp_avg_sq"], v)
        bias_correction1 = 1 - self.beta1 ** t               # m̂ = m / (1 − β₁ᵗ)
        bias_correction2 = 1 - self.beta2 ** t               # v̂ = v / (1 − β₂ᵗ)
        denom = np.sqrt(v) / math.sqrt(bias_correction2) + self.eps
        p -= (self.lr / bias_correction1) * m / denom


class AdamW(Adam):
    """torch.optim.AdamW: Adam whose weight decay is decoupled, p ← p·(1 − lr·wd) before the step."""

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)


OPTIMIZERS = {"sgd": SGD, "adagrad": Adagrad, "rmsprop": RMSprop, "adam": Adam, "adamw": AdamW}


def make(name, params, lr, momentum=0.0, weight_decay=0.0):
    """One optimizer by name with one 'momentum' knob: SGD μ, Nesterov μ, RMSprop μ or Adam β₁.

    AdaGrad has no momentum; `momentum` is then ignored.
    """
    if name in ("sgd", "momentum"):
        return SGD(params, lr, momentum=momentum, weight_decay=weight_decay)
    if name == "nesterov":
        return SGD(params, lr, momentum=momentum, weight_decay=weight_decay, nesterov=momentum > 0)
    if name == "adagrad":
        return Adagrad(params, lr, weight_decay=weight_decay)
    if name == "rmsprop":
        return RMSprop(params, lr, momentum=momentum, weight_decay=weight_decay)
    if name in ("adam", "adamw"):
        beta1 = check_real("momentum", momentum, 0.0, 1.0, hi_open=True)
        return OPTIMIZERS[name](params, lr, betas=(beta1, 0.999), weight_decay=weight_decay)
    raise ValueError(f"name must be one of sgd, momentum, nesterov, adagrad, rmsprop, adam, "
                     f"adamw; got {name!r}")


# -- softmax regression: the chapter's small real model ------------------------------------------
def softmax_regression_loss(W, b, X, y):
    """Mean cross-entropy of logits X @ W + b; W (d, C), b (C,), X (N, d), y (N,) ints."""
    log_p = activations.log_softmax(X @ W + b, axis=1)       # (N, C)
    return float(-log_p[np.arange(len(y)), y].mean())


def softmax_regression_grads(W, b, X, y, per_example=False):
    """Gradient of the mean cross-entropy: dW = Xᵀ(P − Y)/N, db = mean(P − Y).

    per_example=True returns G (N, d·C + C): row i is the flattened [dW_i, db_i] of example i.
    """
    P = activations.softmax(X @ W + b, axis=1)               # (N, C)
    P[np.arange(len(y)), y] -= 1.0                          # P − one_hot(y)
    if per_example:
        N = len(y)
        return np.concatenate([(X[:, :, None] * P[:, None, :]).reshape(N, -1), P], axis=1)
    return X.T @ P / len(y), P.mean(axis=0)


def softmax_regression_hessian(W, b, X):
    """Hessian of the mean cross-entropy in the flattened parameters [W.ravel(), b] (d·C + C square):
    H = (1/N) Σᵢ x̃ᵢx̃ᵢᵀ ⊗ (diag pᵢ − pᵢpᵢᵀ), x̃ᵢ = [xᵢ, 1], parameter index a·C + c."""
    X, W, b = np.asarray(X, float), np.asarray(W, float), np.asarray(b, float)
    if X.ndim != 2 or W.ndim != 2 or X.shape[1] != W.shape[0] or b.shape != (W.shape[1],):
        raise ValueError(f"X must be (N, d), W (d, C) and b (C,); got X {X.shape}, W {W.shape}, b {b.shape}")
    N, C = len(X), len(b)
    P = activations.softmax(X @ W + b, axis=1)               # (N, C)
    Xa = np.column_stack([X, np.ones(N)])                    # (N, d+1): the bias is feature d
    Y = (Xa[:, :, None] * P[:, None, :]).reshape(N, -1)      # (N, (d+1)·C): x̃_ia p_ic
    H = -(Y.T @ Y) / N                                       # the −pᵢpᵢᵀ part
    H4 = H.reshape(Xa.shape[1], C, Xa.shape[1], C)
    for c in range(C):                                       # the diag(pᵢ) part: c = c'
        H4[:, c, :, c] += (Xa * P[:, c:c + 1]).T @ Xa / N
    return H


def minibatch_gradients(G, batch_size, num_batches=200, rng=0):
    """Means of `num_batches` mini-batches of rows of G (drawn without replacement within a batch)."""
    G = np.asarray(G, float)
    N = len(G)
    batch_size = check_int("batch_size", batch_size, 1, N)
    rng = np.random.default_rng(rng)
    # the batch_size smallest of N uniform keys: a random subset, without replacement
    keys = rng.random((num_batches, N))
    if batch_size < N:
        kth = np.partition(keys, batch_size - 1, axis=1)[:, batch_size - 1:batch_size]
        keys = keys <= kth                                  # (num_batches, N) membership mask
    else:
        keys = np.ones_like(keys)
    return (keys / batch_size) @ G                          # each row: mean of its batch's rows


def gradient_noise(G, batch_size):
    """Exact RMS distance E‖g_B − g‖² ^ ½ for batches without replacement: √(tr Σ / B · (N−B)/(N−1))."""
    G = np.asarray(G, float)
    N = len(G)
    batch_size = check_int("batch_size", batch_size, 1, N)
    if batch_size == N:                                       # the batch is the data set: no noise
        return 0.0                                            # (and N = 1 would give 0/0 below)
    trace = ((G - G.mean(axis=0)) ** 2).sum(axis=1).mean()   # tr Σ with the 1/N population variance
    return math.sqrt(trace / batch_size * (N - batch_size) / (N - 1))


class GradientNoise:
    """Precomputed per-example gradients and 2-D projections, for the batch-size figure."""

    def __init__(self, G, batch_sizes, num_batches=300, seed=0):
        self.G = np.asarray(G, float)
        self.g = self.G.mean(axis=0)
        u = self.g / np.linalg.norm(self.g)                 # direction of the full gradient
        # second axis: the direction of largest noise orthogonal to g (top singular vector)
        D = self.G - self.g
        D_perp = D - np.outer(D @ u, u)
        v = np.linalg.svd(D_perp, full_matrices=False)[2][0]
        v *= np.sign(v[np.argmax(np.abs(v))])               # fix the SVD sign (stable plots)
        self.basis = np.stack([u, v], axis=1)               # (D, 2)
        self.batch_sizes = list(batch_sizes)
        with one_blas_thread():
            self.rms = np.array([np.sqrt(((minibatch_gradients(self.G, B, num_batches, seed) - self.g)
                                          ** 2).sum(axis=1).mean()) for B in self.batch_sizes])
        self.theory = np.array([gradient_noise(self.G, B) for B in self.batch_sizes])
        self.proj = (self.G - self.g) @ self.basis          # (N, 2) projected deviations
        self.num_batches, self.seed = num_batches, seed

    def projected_batches(self, batch_size):
        """2-D projected mini-batch gradients for `batch_size` (cheap: projection happens first)."""
        return minibatch_gradients(self.proj, batch_size, self.num_batches, self.seed)


def _key(ax, entries, x=0.03, y=0.04, dy=0.075):
    """A cheap legend: one coloured line of text per (label, colour), bottom-left of `ax`."""
    for k, (label, color) in enumerate(reversed(entries)):
        ax.text(x, y + k * dy, label, color=color, transform=ax.transAxes, fontsize=8)


def draw_gradient_noise(fig, batch_size=32, noise=None):
    """Left: mini-batch gradients around the full one (2-D projection); right: RMS spread vs B.

    For `interactive(..., clear=False)`; `noise` is a GradientNoise (pass it with functools.partial).
    """
    if not isinstance(noise, GradientNoise):
        raise ValueError("noise must be a GradientNoise")
    gn = np.linalg.norm(noise.g)
    pts = noise.projected_batches(int(batch_size))
    a = plot.artists(fig, "gradient_noise")
    if a is None:
        fig.clear()
        ax, ax_law = fig.subplots(1, 2)
        lim = 1.2 * np.quantile(np.abs(noise.projected_batches(1)), 0.99) + gn
        a = plot.keep_artists(fig, "gradient_noise",
                              cloud=ax.scatter(gn + pts[:, 0], pts[:, 1], s=6, alpha=0.5,
                                               color=plot.COLORS[0]),
                              B=ax_law.axvline(np.log2(batch_size), color=plot.COLORS[1], lw=1))
        ax.plot([0, gn], [0, 0], color="black", lw=2)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xlabel="along the full gradient",
               ylabel="largest-noise orthogonal direction")
        # coloured text instead of legends: a legend's layout costs more than the whole plot
        _key(ax, [(f"{len(pts)} mini-batch gradients", plot.COLORS[0]),
                  ("full-batch gradient", "black")])
        Bs = np.array(noise.batch_sizes)
        lb = np.log2(Bs)
        log10 = lambda a: np.log10(np.where(a > 0, a, np.nan))   # B = N has zero noise: no point
        ax_law.plot(lb, log10(noise.rms), "o", color=plot.COLORS[0])
        ax_law.plot(lb, log10(noise.theory), "-", color=plot.COLORS[2])
        ax_law.plot(lb, log10(noise.theory[0] * np.sqrt(Bs[0] / Bs)), "--", color="gray")
        ax_law.axhline(np.log10(gn), color="black", lw=1, ls=":")
        _key(ax_law, [("measured", plot.COLORS[0]), ("√(tr Σ / B · (N−B)/(N−1))", plot.COLORS[2]),
                      ("∝ 1/√B", "gray"), ("‖full gradient‖ (dotted)", "black")])
        ax_law.set_xticks(lb[::2], [str(B) for B in Bs[::2]])
        ax_law.set(xlabel="batch size B (log scale)", ylabel="log₁₀ RMS ‖g_B − g‖",
                   title="the 1/√B law")
        ax.locator_params(nbins=5)
        ax_law.locator_params(axis="y", nbins=5)
    ax, ax_law = a["axes"]
    a["cloud"].set_offsets(np.column_stack([gn + pts[:, 0], pts[:, 1]]))
    a["B"].set_xdata([np.log2(batch_size)] * 2)
    ratio = gradient_noise(noise.G, int(batch_size)) / gn
    ax.set_title(f"B = {int(batch_size)} of N = {len(noise.G)}: noise/signal = {ratio:.2f}")


# -- choosing a batch size: steps to a target loss -----------------------------------------------
def group_softmax(Z, C):
    """Softmax over consecutive groups of C columns of Z (N, K·C); NaN-tolerant (diverged runs)."""
    Z3 = Z.reshape(len(Z), -1, C)
    Z3 = np.exp(Z3 - Z3.max(axis=-1, keepdims=True))
    return (Z3 / Z3.sum(axis=-1, keepdims=True)).reshape(Z.shape)


def steps_to_target(X, y, batch_size, lrs, target, max_steps=2000, num_classes=10, seed=0,
                    eval_every=1):
    """Mini-batch SGD on softmax regression, one run per learning rate in `lrs` (all fed the same
    batches), stopped as soon as ANY run's full training loss is <= `target`.

    The loss is checked every `eval_every` steps (a resolution of that many steps, to save time).
    Returns (steps, lr): the number of steps taken with the best learning rate of `lrs`
    (inf if none reached the target within max_steps) and that learning rate.
    """
    X, y = np.asarray(X, float), np.asarray(y)
    N, d = X.shape
    batch_size = check_int("batch_size", batch_size, 1, N)
    lrs = np.asarray(lrs, float)
    if lrs.ndim != 1 or np.any(lrs <= 0):
        raise ValueError("lrs must be a 1-D array of positive learning rates")
    K, C = len(lrs), num_classes
    Y = np.tile(np.eye(C)[y], K)                                  # (N, K·C) one-hot, per run
    W, b = np.zeros((d, K * C)), np.zeros(K * C)                  # K models side by side
    lr_col = np.repeat(lrs, C)
    rng = np.random.default_rng(seed)
    order, pos = rng.permutation(N), 0
    with np.errstate(all="ignore"), one_blas_thread():
        for step in range(1, max_steps + 1):
            if pos + batch_size > N:                              # new epoch, new shuffle
                order, pos = rng.permutation(N), 0
            idx = order[pos:pos + batch_size]
            pos += batch_size
            P = group_softmax(X[idx] @ W + b, C) - Y[idx]        # (B, K·C)
            W -= lr_col * (X[idx].T @ P) / batch_size
            b -= lr_col * P.mean(axis=0)
            if step % eval_every:
                continue
            P_all = group_softmax(X @ W + b, C).reshape(N, K, C)
            loss = -np.log(P_all[np.arange(N), :, y]).mean(axis=0)  # (K,) full training loss
            if np.any(loss <= target):
                return step, float(lrs[np.argmax(np.where(np.isfinite(loss), -loss, -np.inf))])
    return math.inf, math.nan


# -- checking against PyTorch ------------------------------------------------------------------
def match_torch(name, num_steps=150, seed=0, shapes=((3, 4), (5,)), **kwargs):
    """Run dlbook's optimizer `name` and torch.optim's twin for `num_steps` on a random float64
    problem, both fed the same gradients; return the largest relative parameter difference."""
    import torch
    torch_cls = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad,
                 "rmsprop": torch.optim.RMSprop, "adam": torch.optim.Adam,
                 "adamw": torch.optim.AdamW}
    if name not in torch_cls:
        raise ValueError(f"name must be one of {sorted(torch_cls)}, got {name!r}")
    gen = torch.Generator().manual_seed(seed)
    randn = lambda s: torch.randn(s, generator=gen, dtype=torch.float64)
    targets = [randn(s) for s in shapes]
    t_params = [randn(s).requires_grad_() for s in shapes]
    n_params = [p.detach().numpy().copy() for p in t_params]
    t_opt = torch_cls[name](t_params, foreach=False, **kwargs)
    n_opt = OPTIMIZERS[name](n_params, **kwargs)
    worst = 0.0
    for _ in range(num_steps):
        t_opt.zero_grad()
        # loss Σ (p − target)² + 0.1 Σ (p − target)⁴: curved, with gradients of varied size
        sum(((p - t) ** 2).sum() + 0.1 * ((p - t) ** 4).sum()
            for p, t in zip(t_params, targets)).backward()
        n_opt.step([p.grad.numpy().copy() for p in t_params])
        t_opt.step()
        for p, q in zip(n_params, t_params):
            q = q.detach().numpy()
            worst = max(worst, float(np.abs(p - q).max() / max(1.0, np.abs(q).max())))
    return worst
