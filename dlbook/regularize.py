"""Regularization from scratch: weight penalties, dropout, early stopping, imbalance-aware losses.

NumPy first; torch only inside the small training loops (imported lazily). Dropout follows
PyTorch's convention: `p` is the probability of DROPPING a unit.
"""
import math

import numpy as np

from dlbook import activations, plot
from dlbook.checks import check_int, check_real, finite_array


# -- weight penalties ------------------------------------------------------------------------
def l2_penalty(w, lam):
    """lam * sum(w²): the notes' L2 term. Its gradient is 2 * lam * w."""
    return check_real("lam", lam, 0.0) * float(np.sum(finite_array("w", w) ** 2))


def l1_penalty(w, lam):
    """lam * sum(|w|). Its (sub)gradient is lam * sign(w)."""
    return check_real("lam", lam, 0.0) * float(np.sum(np.abs(finite_array("w", w))))


def sgd_step(w, grad, lr, l2=0.0, l1=0.0):
    """One SGD step on loss + l2·Σw² + l1·Σ|w|: w - lr·(grad + 2·l2·w + l1·sign(w)).

    With l1 = 0 this is w·(1 - 2·lr·l2) - lr·grad: the weights shrink ("decay") by a constant
    factor every step, which is why torch calls 2·l2 the `weight_decay`.
    """
    w, grad = finite_array("w", w), finite_array("grad", grad)
    if w.shape != grad.shape:
        raise ValueError(f"grad must have the shape of w {w.shape}, got {grad.shape}")
    lr = check_real("lr", lr, 0.0)
    l2, l1 = check_real("l2", l2, 0.0), check_real("l1", l1, 0.0)
    return w - lr * (grad + 2 * l2 * w + l1 * np.sign(w))


def soft_threshold(w, t):
    """Proximal step of t·Σ|w|: sign(w)·max(|w| - t, 0), as torch's `softshrink`. Gives exact zeros."""
    w, t = finite_array("w", w), check_real("t", t, 0.0)
    return np.sign(w) * np.maximum(np.abs(w) - t, 0.0)


# -- dropout ---------------------------------------------------------------------------------
def _check_p(p):
    return check_real("p", p, 0.0, 1.0)


def dropout_mask(u, p):
    """Keep-mask from uniform draws u in [0, 1): keep where u < 1 - p (P(keep) = 1 - p)."""
    u, p = finite_array("u", u), _check_p(p)
    if u.size and (u.min() < 0 or u.max() >= 1):
        raise ValueError("u must hold uniform draws in [0, 1)")
    return u < 1 - p


def dropout(x, p, training=True, rng=None, u=None):
    """Inverted dropout: x·mask/(1-p) in training (E[out] = x), x unchanged in eval.

    Returns (out, mask). Pass the uniform draws `u` (shape of x) to fix the mask; otherwise
    they come from `rng` (a Generator or seed). p = 1 drops everything (out = 0), like torch.
    """
    x, p = finite_array("x", x), _check_p(p)
    if not training or p == 0:
        return x.copy(), np.ones(x.shape, dtype=bool)
    if u is None:
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        u = rng.uniform(size=x.shape)
    elif np.shape(u) != x.shape:
        raise ValueError(f"u must have the shape of x {x.shape}, got {np.shape(u)}")
    mask = dropout_mask(u, p)
    if p == 1:
        return np.zeros_like(x), mask
    return x * mask / (1 - p), mask


def dropout_backward(grad_out, mask, p):
    """Gradient of inverted dropout: grad_out·mask/(1-p) (zero where a unit was dropped)."""
    grad_out, p = finite_array("grad_out", grad_out), _check_p(p)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != grad_out.shape:
        raise ValueError(f"mask must have the shape of grad_out {grad_out.shape}, got {mask.shape}")
    return np.zeros_like(grad_out) if p == 1 else grad_out * mask / (1 - p)


def classic_dropout(x, keep, training=True, rng=None, u=None):
    """The original (Srivastava et al. 2014) form, p = KEEP probability as in notes 003.

    Training: x·mask (no rescaling). Inference: x·keep ("scale the weights by p").
    """
    keep = check_real("keep", keep, 0.0, 1.0)
    x = finite_array("x", x)
    if not training:
        return keep * x
    if u is None:
        rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        u = rng.uniform(size=x.shape)
    elif np.shape(u) != x.shape:
        raise ValueError(f"u must have the shape of x {x.shape}, got {np.shape(u)}")
    return x * dropout_mask(u, 1 - keep)


# -- early stopping --------------------------------------------------------------------------
def early_stopping(val_losses, patience, min_delta=0.0):
    """Where training with patience stops on a validation curve, and which epoch is restored.

    An epoch improves if its loss < best - min_delta. Training stops after `patience` epochs in a
    row without improvement (Keras semantics). Returns (stop_epoch, best_epoch), 0-based;
    stop_epoch = len(val_losses) - 1 if it never triggers.
    """
    losses = finite_array("val_losses", val_losses)
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"val_losses must be a non-empty 1-D sequence, got shape {losses.shape}")
    patience = check_int("patience", patience, 1)
    min_delta = check_real("min_delta", min_delta, 0.0)
    best, best_epoch, wait = math.inf, 0, 0
    for epoch, loss in enumerate(losses):
        if loss < best - min_delta:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return len(losses) - 1, best_epoch


# -- class imbalance -------------------------------------------------------------------------
def _check_labels(y, num_classes=None):
    y = np.asarray(y)
    if y.ndim != 1 or y.size == 0 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be a non-empty 1-D int array, got dtype {y.dtype}, shape {y.shape}")
    if y.min() < 0:
        raise ValueError("y must hold non-negative class indices")
    k = int(y.max()) + 1 if num_classes is None else check_int("num_classes", num_classes, 1)
    if y.max() >= k:
        raise ValueError(f"num_classes must be > max(y) = {y.max()}, got {num_classes!r}")
    return y, k


def class_weights(y, num_classes=None):
    """'Balanced' weights N / (K · count_c), as scikit-learn's compute_class_weight("balanced")."""
    y, k = _check_labels(y, num_classes)
    counts = np.bincount(y, minlength=k)
    if np.any(counts == 0):
        raise ValueError(f"y must contain every class 0..{k - 1}; counts {counts.tolist()}")
    return len(y) / (k * counts)


def _check_logits(logits, y):
    z = finite_array("logits", logits)
    if z.ndim != 2:
        raise ValueError(f"logits must have shape (N, C), got {z.shape}")
    y, _ = _check_labels(y, z.shape[1])
    if len(y) != len(z):
        raise ValueError(f"y must have length N = {len(z)}, got {len(y)}")
    return z, y


def weighted_cross_entropy(logits, y, weight=None):
    """Σ_i w_{y_i}·(-log softmax(z_i)_{y_i}) / Σ_i w_{y_i}: torch CrossEntropyLoss(weight=...)'s mean."""
    z, y = _check_logits(logits, y)
    w = np.ones(z.shape[1]) if weight is None else finite_array("weight", weight)
    if w.shape != (z.shape[1],) or np.any(w < 0):
        raise ValueError(f"weight must be {z.shape[1]} non-negative numbers, got shape {w.shape}")
    nll = -activations.log_softmax(z, axis=1)[np.arange(len(y)), y]   # (N,)
    wi = w[y]
    return float(np.sum(wi * nll) / np.sum(wi))


def focal_loss(logits, y, gamma=2.0, alpha=None):
    """Mean focal loss -α_y·(1 - p_y)^γ·log p_y (Lin et al. 2017); γ = 0, α = None is cross-entropy."""
    z, y = _check_logits(logits, y)
    gamma = check_real("gamma", gamma, 0.0)
    log_pt = activations.log_softmax(z, axis=1)[np.arange(len(y)), y]  # (N,)
    pt = np.exp(log_pt)
    a = np.ones(len(y)) if alpha is None else _check_alpha(alpha, z.shape[1])[y]
    return float(np.mean(-a * (1 - pt) ** gamma * log_pt))


def focal_loss_grad(logits, y, gamma=2.0, alpha=None):
    """d focal_loss / d logits, shape (N, C).

    With L = -(1-pt)^γ log pt and d pt/d z_j = pt(δ_jy - p_j):
    dL/dz_j = [γ (1-pt)^(γ-1) pt log pt - (1-pt)^γ] (δ_jy - p_j) / N.
    """
    z, y = _check_logits(logits, y)
    gamma = check_real("gamma", gamma, 0.0)
    N = len(y)
    p = activations.softmax(z, axis=1)                                  # (N, C)
    log_pt = activations.log_softmax(z, axis=1)[np.arange(N), y]
    pt = np.exp(log_pt)
    q = 1 - pt
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.where(q > 0, gamma * q ** (gamma - 1) * pt * log_pt, 0.0) if gamma > 0 else 0.0
    factor = first - q ** gamma                                         # (N,)
    a = np.ones(N) if alpha is None else _check_alpha(alpha, z.shape[1])[y]
    onehot = np.eye(z.shape[1])[y]
    return (a * factor)[:, None] * (onehot - p) / N


def _check_alpha(alpha, C):
    a = finite_array("alpha", alpha)
    if a.shape != (C,) or np.any(a < 0):
        raise ValueError(f"alpha must be {C} non-negative numbers, got shape {a.shape}")
    return a


def focal_loss_torch(logits, y, gamma=2.0, alpha=None):
    """The same loss as a differentiable torch expression (for training loops)."""
    import torch
    log_pt = torch.log_softmax(logits, dim=1).gather(1, y[:, None])[:, 0]
    loss = -(1 - log_pt.exp()) ** gamma * log_pt
    if alpha is not None:
        loss = torch.as_tensor(alpha, dtype=logits.dtype)[y] * loss
    return loss.mean()


def oversample(y, rng=None):
    """Indices that repeat random minority examples until every class has the majority count."""
    y, k = _check_labels(y)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n_max = np.bincount(y, minlength=k).max()
    parts = []
    for c in range(k):
        idx = np.flatnonzero(y == c)
        if idx.size:
            parts += [idx, rng.choice(idx, size=n_max - idx.size, replace=True)]
    return rng.permutation(np.concatenate(parts))


def undersample(y, rng=None):
    """Indices of a random subset with every present class cut to the minority count."""
    y, k = _check_labels(y)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    counts = np.bincount(y, minlength=k)
    n_min = counts[counts > 0].min()
    parts = [rng.choice(np.flatnonzero(y == c), size=n_min, replace=False)
             for c in range(k) if counts[c]]
    return rng.permutation(np.concatenate(parts))


# -- a training loop for losses and penalties that `train.fit` does not offer ------------------
def fit_custom(net, X, y, loss_fn, *, lr=0.1, num_epochs=10, batch_size=64, l1=0.0, prox=False,
               X_val=None, y_val=None, seed=0, progress=True, desc="training"):
    """Plain mini-batch SGD (`train.fit`) on loss_fn(net(X_b), y_b) + l1·Σ|W| over weight matrices.

    prox=True applies the L1 part as a soft-threshold after each step (exact zeros) instead of
    adding its subgradient to the loss. The history's losses are loss_fn alone (no L1 term).
    """
    import torch

    from dlbook import train
    l1 = check_real("l1", l1, 0.0)
    weights = [p for p in net.parameters() if p.ndim > 1]

    def l1_term(net):                       # subgradient route: l1 · Σ|w|
        return l1 * sum(w.abs().sum() for w in weights)

    def shrink(net):                        # proximal route: w ← sign(w) · max(|w| − lr·l1, 0)
        for w in weights:
            w.copy_(torch.nn.functional.softshrink(w, lr * l1))

    return train.fit(net, X, y, lr=lr, num_epochs=num_epochs, batch_size=batch_size, loss_fn=loss_fn,
                     penalty=l1_term if l1 and not prox else None,
                     after_step=shrink if l1 and prox else None,
                     X_val=X_val, y_val=y_val, seed=seed, progress=progress, desc=desc)


def seed_mlps(sizes, seeds, dropout=0.0, dropout_out=0.0):
    """S independent float64 ReLU MLPs, one per seed, stacked so that S runs train as one.

    Net s starts exactly as `train.seed_everything(s); train.mlp(sizes).double()` would. The
    module maps (S, B, d_in) to (S, B, d_out); `dropout` (a drop rate) follows every hidden
    ReLU, `dropout_out` acts on the output scores (only to show why nobody puts it there).
    """
    import torch

    from dlbook import train
    seeds = [check_int("seeds", s, 0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    dropout, dropout_out = _check_p(dropout), _check_p(dropout_out)
    nets = []
    for s in seeds:
        train.seed_everything(s)
        nets.append(train.mlp(sizes).double())
    linears = [[m for m in net if isinstance(m, torch.nn.Linear)] for net in nets]
    Ws = [torch.stack([lin[i].weight.detach().T for lin in linears]) for i in range(len(linears[0]))]
    bs = [torch.stack([lin[i].bias.detach()[None] for lin in linears]) for i in range(len(linears[0]))]
    return _SeedMLP(Ws, bs, dropout, dropout_out)


def _SeedMLP(Ws, bs, dropout, dropout_out):
    import torch
    F = torch.nn.functional

    class SeedMLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.W = torch.nn.ParameterList([torch.nn.Parameter(W.clone()) for W in Ws])  # (S, d_in, d_out)
            self.b = torch.nn.ParameterList([torch.nn.Parameter(b.clone()) for b in bs])  # (S, 1, d_out)
            self.p, self.p_out = dropout, dropout_out

        def forward(self, x):                                   # (S, B, d_in) -> (S, B, d_out)
            for i, (W, b) in enumerate(zip(self.W, self.b)):
                x = torch.baddbmm(b, x, W)
                if i < len(self.W) - 1:
                    x = F.dropout(torch.relu(x), self.p, self.training)
            return F.dropout(x, self.p_out, self.training)

    return SeedMLP()


def fit_seeds(net, seeds, X, y, *, lr, num_epochs, batch_size, optimizer="adam", momentum=0.0,
              weight_decay=0.0, loss_fn=None, X_val=None, y_val=None, on_epoch_end=None, progress=True,
              desc="seeds", train_loss=True):
    """Train the stacked nets of `seed_mlps` as separate `train.fit(..., seed=s)` runs would:
    same mini-batches, same optimizer, every update elementwise per run (tested).

    X: (N, d), or (S, N, d) for one training set per run; y: int labels (N,)/(S, N) or soft
    targets (N, C)/(S, N, C). loss_fn(scores (B, C), targets) is one run's mean loss
    (default cross-entropy). lr may be one value per run with plain/momentum SGD (no weight
    decay): run s's loss is scaled by lr[s] / max(lr), which is exactly an lr[s] step.
    on_epoch_end(epoch, net, history) runs after each epoch's evaluation; returning True stops.
    Returns a history of (num_epochs, S) arrays; train_loss=False skips the full-training-set
    loss after each epoch (it costs a forward pass over X and changes no update).
    """
    import torch
    from tqdm.auto import tqdm

    from dlbook.checks import check_choice, check_positive
    lrs = np.atleast_1d(np.asarray(lr, dtype=np.float64))
    if lrs.ndim != 1 or lrs.size == 0:
        raise ValueError(f"lr must be a number or a 1-D sequence of per-run values, got shape {lrs.shape}")
    for value in lrs:
        check_positive("lr", float(value))
    check_int("num_epochs", num_epochs, 1)
    check_int("batch_size", batch_size, 1)
    check_choice("optimizer", optimizer, ("sgd", "adam"))
    S = len(net.W[0])
    if len(seeds) != S:
        raise ValueError(f"seeds must hold one seed per stacked net ({S}), got {len(seeds)}")
    batched_ce = loss_fn is None                           # default: one cross-entropy call for all runs
    loss_fn = loss_fn or torch.nn.functional.cross_entropy
    if lrs.size > 1:                                       # per-run lr: scale each run's loss
        if lrs.size != S:
            raise ValueError(f"lr must hold one value per stacked net ({S}), got {lrs.size}")
        if optimizer != "sgd" or weight_decay:
            raise ValueError("lr per run needs optimizer='sgd' and weight_decay=0 (Adam ignores loss scale)")
    scale, lr = (lrs / lrs.max()).tolist() if lrs.size > 1 else [1.0] * S, float(lrs.max())

    def per_run(a, name, n_dims):                          # shared data -> one copy per run
        t = torch.as_tensor(np.asarray(a))
        t = t.double() if t.dtype.is_floating_point else t.long()
        return t if t.ndim == n_dims + 1 else t.expand(S, *t.shape)

    X, Xv = per_run(X, "X", 2), (None if X_val is None else per_run(X_val, "X_val", 2))
    soft = np.asarray(y).dtype.kind == "f"
    y, yv = per_run(y, "y", 1 + soft), (None if y_val is None else per_run(y_val, "y_val", 1))
    if X.shape[:2] != y.shape[:2] or X.shape[0] != S:
        raise ValueError(f"X and y must have matching (runs, N), got {tuple(X.shape)} and {tuple(y.shape)}")
    opt = (torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay) if optimizer == "adam"
           else torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay))
    gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
    runs, N = torch.arange(S)[:, None], X.shape[1]
    keys = ("train_loss", "val_loss", "val_acc")
    history = {k: [] for k in keys}
    for epoch in tqdm(range(num_epochs), desc=desc, disable=not progress, leave=False):
        net.train()
        order = torch.stack([torch.randperm(N, generator=g) for g in gens])      # (S, N)
        for start in range(0, N, batch_size):
            idx = order[:, start:start + batch_size]
            opt.zero_grad()
            out, target = net(X[runs, idx]), y[runs, idx]
            if batched_ce:                                 # per-run mean of per-example CE, (S,)
                per_run_loss = torch.nn.functional.cross_entropy(
                    out.flatten(0, 1), target.flatten(0, 1), reduction="none").view(S, -1).mean(1)
                (per_run_loss * torch.tensor(scale, dtype=per_run_loss.dtype)).sum().backward()
            else:
                sum(loss_fn(out[s], target[s]) * scale[s] for s in range(S)).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            if train_loss:
                history["train_loss"].append([float(loss_fn(o, t)) for o, t in zip(net(X), y)])
            if Xv is not None:
                out = net(Xv)
                history["val_loss"].append([float(loss_fn(o, t)) for o, t in zip(out, yv)])
                history["val_acc"].append((out.argmax(2) == yv).double().mean(1).tolist())
        if on_epoch_end is not None and on_epoch_end(epoch, net, history):
            break
    return {k: np.array(v) for k, v in history.items() if v}


def predict_seeds(net, X):
    """Scores (S, N, C) of every stacked net on the same X (N, d), in eval mode, as NumPy."""
    import torch
    net.eval()
    X = torch.as_tensor(finite_array("X", X, 2))
    with torch.no_grad():
        return net(X.expand(len(net.W[0]), *X.shape)).numpy()


def accuracy_seeds(net, X, y):
    """Accuracy (S,) of every stacked net of `seed_mlps` on (X, y)."""
    y = np.asarray(y)
    return (predict_seeds(net, X).argmax(2) == y).mean(1)


def weight_norms(net):
    """Euclidean norm (S,) of all weight matrices (biases excluded) of every stacked net."""
    return np.sqrt(sum((W.detach().numpy() ** 2).sum((1, 2)) for W in net.W))


def mean_se(values, digits=3):
    """'mean ± standard error' of a 1-D sample (runs over seeds), as text."""
    v = finite_array("values", values, 1)
    if v.size < 2:
        raise ValueError(f"values must hold at least 2 runs, got {v.size}")
    se = v.std(ddof=1) / math.sqrt(v.size)
    return f"{v.mean():.{digits}f} ± {se:.{digits}f}"


def f1_threshold(y, scores):
    """The threshold on `scores` that maximises F1 of class 1 (predict 1 where score >= t).

    Candidates are the distinct scores; ties keep the highest threshold. Returns (t, best F1).
    """
    y, s = np.asarray(y), finite_array("scores", scores, 1)
    if y.shape != s.shape or not np.isin(y, (0, 1)).all() or y.sum() == 0:
        raise ValueError("y must be 0/1 labels with at least one 1, one per score")
    order = np.argsort(-s, kind="stable")
    s_sorted, tp = s[order], np.cumsum(y[order])              # predict 1 for the top k scores
    k = np.flatnonzero(np.r_[s_sorted[1:] != s_sorted[:-1], True])   # last index of each distinct score
    f1 = 2 * tp[k] / (k + 1 + y.sum())                         # 2TP / (predicted + actual)
    best = int(np.argmax(f1))
    return float(s_sorted[k[best]]), float(f1[best])


def weights_of(net):
    """All weight-matrix entries of a torch net as one float64 NumPy vector (biases excluded)."""
    return np.concatenate([p.detach().double().numpy().ravel()
                           for p in net.parameters() if p.ndim > 1])


# -- figures ---------------------------------------------------------------------------------
def plot_curves(histories, title=None, key="loss"):
    """Train (dashed) and validation (solid) curves of several runs: histories = {label: history}.

    A history of (epochs, seeds) arrays (`fit_seeds`) is drawn as its mean with a min-max band."""
    fig, ax = plot.figure(1, 1, figsize=(7.5, 3.0))
    for i, (label, h) in enumerate(histories.items()):
        c = plot.COLORS[i % len(plot.COLORS)]
        tr, va = np.asarray(h[f"train_{key}"]), np.asarray(h[f"val_{key}"])
        if va.ndim == 2:                          # (epochs, seeds): mean, and the band min..max
            ax.fill_between(np.arange(len(va)), va.min(1), va.max(1), color=c, alpha=0.2, lw=0)
            tr, va = tr.mean(1), va.mean(1)
        ax.plot(tr, "--", color=c, lw=1.3)
        ax.plot(va, color=c, label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"{key} (dashed: train, solid: validation)")
    if key == "loss":
        ax.set_yscale("log")
    ax.legend()
    if title:
        ax.set_title(title)
    return fig


def plot_zero_pixels(X, weights, side=8, near_zero=1e-3):
    """The mean image of X (N, side²) beside, per run, the fraction of first-layer weights that are
    exactly 0 for each input pixel: weights = {name: W (hidden, side²)}. Titles give that
    fraction's correlation with how often the pixel is inked. A run with no exact zero shows the
    fraction with |w| < near_zero instead."""
    ink = finite_array("X", X, 2).mean(0)                      # how often each pixel is inked
    fig, axes = plot.figure(1, 1 + len(weights), figsize=(2.5 * (1 + len(weights)), 2.6))
    axes[0].imshow(ink.reshape(side, side), cmap="gray_r")
    axes[0].set_title("mean training image", fontsize=9)
    for ax, (name, W) in zip(axes[1:], weights.items()):
        W = finite_array(f"weights[{name!r}]", W, 2)
        zero_frac = (W == 0).mean(0)                                         # (side²,)
        if zero_frac.any():
            r = np.corrcoef(ink, zero_frac)[0, 1]
            ax.set_title(f"{name}: exact-zero fraction\nper pixel (corr. with ink {r:.2f})", fontsize=9)
        else:                                        # nothing exactly 0: show the near-zero weights
            zero_frac = (np.abs(W) < near_zero).mean(0)
            ax.set_title(f"{name}: no weight is exactly 0;\nfraction with |w| < {near_zero:g}", fontsize=9)
        ax.imshow(zero_frac.reshape(side, side), cmap="magma", vmin=0, vmax=1)
    for ax in axes:
        ax.set_axis_off()
    return fig


def plot_focal(gammas=(0, 0.5, 1, 2, 5), p_mark=0.6):
    """Focal loss -(1 - p_t)^γ log p_t against p_t for several γ (γ = 0 is cross-entropy); the title
    gives cross-entropy's loss at p_t = p_mark and that of γ = 0.5 and γ = 2 (those of them shown)."""
    p_t = np.linspace(0.01, 1, 200)
    fig, ax = plot.figure(1, 1, figsize=(6.5, 2.8))
    for gamma in gammas:
        ax.plot(p_t, -(1 - p_t) ** gamma * np.log(p_t), label=f"γ = {gamma:g}")
    ax.axvline(p_mark, color="0.6", lw=0.8, ls=":")
    ax.set_xlabel("probability of the true class $p_t$")
    ax.set_ylabel("loss")
    ax.set_ylim(0, 3)
    ax.legend()
    ce = -np.log(p_mark)
    parts = [f"γ = {g:g}: {(1 - p_mark) ** g * ce:.2f}" for g in gammas if g in (0.5, 2)]
    ax.set_title(f"loss at $p_t$ = {p_mark:g}: cross-entropy {ce:.2f}, " + ", ".join(parts), fontsize=10)
    return fig


def _dropout_means(x, p, trials=200):
    """Per-unit mean of `trials` inverted-dropout draws of x, and 3 binomial SEs (seeded)."""
    rng = np.random.default_rng(1)
    u = rng.uniform(size=(trials, x.size))
    out = np.zeros_like(u) if p >= 1 else x * (u < 1 - p) / (1 - p)
    return out.mean(0), 3 * np.abs(x) * math.sqrt(p / ((1 - p) * trials)) if p < 1 else np.zeros_like(x)


def draw_dropout(fig, p, image, curves):
    """Dropout slider (use with clear=False): a digit after inverted dropout, E[out] = x, and
    the validation curves of nets trained with several p (nearest one highlighted).

    image (8, 8); curves: {p: validation losses of a net trained with that p}.
    """
    x = image.ravel()
    ps = np.array(sorted(curves))
    art = plot.artists(fig, "dropout")
    if art is None:                                    # build once, then only update artists
        fig.clear()
        ax0, ax1, ax2 = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1.3, 1.6]})
        art = plot.keep_artists(fig, "dropout")
        art["img"] = ax0.imshow(image, cmap="viridis", vmin=0, vmax=2.5)
        ax0.set_xticks([]), ax0.set_yticks([]), ax0.grid(False)
        ax1.plot([0, 1], [0, 1], color=plot.COLORS[1], lw=1, label="E[out] = x")
        art["bars"], = ax1.plot([], [], color=plot.COLORS[0], lw=0.8)
        art["means"], = ax1.plot(x, x, "o", ms=3, color=plot.COLORS[0], label="mean of 200 masks")
        ax1.set_xlim(-0.05, 1.05), ax1.set_ylim(-0.3, 1.6)
        ax1.set_xlabel("pixel x"), ax1.set_ylabel("mean dropout(x)")
        ax1.legend(loc="upper left", fontsize=8)
        art["msg"] = plot.message(ax1, "")
        art["curves"] = {q: ax2.plot(curves[q], color="0.8", lw=1)[0] for q in ps}
        lo = min(float(np.min(c)) for c in curves.values())   # zoom on the tail, where p matters
        ax2.set_ylim(0.9 * lo, 2.2 * lo), ax2.set_xlabel("epoch"), ax2.set_ylabel("validation loss")
    ax0, ax1, ax2 = fig.axes[:3]
    out, mask = dropout(image, p, rng=0)
    art["img"].set_data(np.where(mask, out, np.nan))
    ax0.set_title(f"kept {mask.mean():.0%}, ×{1 / (1 - p):.2f}" if p < 1 else "p = 1: all dropped",
                  fontsize=10)
    means, err = _dropout_means(x, p)
    art["means"].set_data(x, means)
    segs = np.full((len(x), 3, 2), np.nan)
    segs[:, 0] = np.c_[x, means - err]
    segs[:, 1] = np.c_[x, means + err]
    art["bars"].set_data(segs[..., 0].ravel(), segs[..., 1].ravel())
    plot.set_message(art["msg"], "p = 1: every unit dropped,\noutput identically 0" if p >= 1 else "")
    ax1.set_title("mean ± 3 SE over 200 masks" if p < 1 else "", fontsize=10)
    nearest = ps[np.argmin(np.abs(ps - p))]
    for q, line in art["curves"].items():
        line.set(color=plot.COLORS[0] if q == nearest else "0.8", lw=2 if q == nearest else 1,
                 zorder=3 if q == nearest else 1)
    ax2.set_title(f"trained with p = {nearest:g}: best {min(curves[nearest]):.3f}", fontsize=10)


def draw_early_stopping(fig, patience, val_loss, train_loss, test_acc):
    """Patience slider on a real run (use with clear=False): where it stops, what is restored."""
    epochs = np.arange(len(val_loss))
    art = plot.artists(fig, "early_stopping")
    if art is None:
        fig.clear()
        ax0, ax1 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        art = plot.keep_artists(fig, "early_stopping")
        ax0.plot(epochs, train_loss, "--", color=plot.COLORS[0], lw=1.2, label="train")
        ax0.plot(epochs, val_loss, color=plot.COLORS[1], label="validation")
        art["span"] = ax0.axvspan(0, 1, color="0.88", zorder=0, label="epochs not trained")
        art["stop"] = ax0.axvline(0, color="k", lw=1)
        art["best"], = ax0.plot([], [], "*", ms=12, color=plot.COLORS[2], label="restored epoch")
        ax0.set_yscale("log"), ax0.set_xlabel("epoch"), ax0.set_ylabel("loss")
        ax0.minorticks_off()                          # fewer tick labels: a faster redraw
        ax0.legend(loc="lower left", fontsize=8)
        ax1.plot(epochs, test_acc, color="0.6", lw=1)
        art["best_acc"], = ax1.plot([], [], "*", ms=12, color=plot.COLORS[2], label="restored")
        art["stop_acc"], = ax1.plot([], [], "o", color="k", label="at stop")
        ax1.set_xlabel("epoch"), ax1.set_ylabel("test accuracy")
        ax1.legend(loc="lower right", fontsize=8)
    ax0, ax1 = fig.axes[:2]
    stop, best = early_stopping(val_loss, patience)
    last = len(val_loss) - 1
    art["span"].set_x(stop)                        # a Rectangle in axes-y, data-x coordinates
    art["span"].set_width(last - stop)
    art["stop"].set_xdata([stop, stop])
    art["best"].set_data([best], [val_loss[best]])
    art["best_acc"].set_data([best], [test_acc[best]])
    art["stop_acc"].set_data([stop], [test_acc[stop]])
    ax0.set_title(f"patience {patience}: stops at epoch {stop}, restores {best}"
                  + (" (never triggered)" if stop == last else ""), fontsize=10)
    ax1.set_title(f"restored {test_acc[best]:.3f} vs at stop {test_acc[stop]:.3f}", fontsize=10)


def draw_augment(fig, augmentation, strength, images, digits):
    """Augmentation dropdown + strength slider (use with clear=False) on two photos and digits.

    images: (china, flower) small RGB photos (H, W, 3); digits: (n >= 6, 8, 8) in [0, 1].
    """
    from dlbook import augment
    a, b = images
    art = plot.artists(fig, "augment")
    if art is None:
        fig.clear()
        axes = fig.subplots(2, 5, gridspec_kw={"height_ratios": [1.6, 1]})
        art = plot.keep_artists(fig, "augment", top=[], bottom=[])
        for ax in axes.ravel():
            ax.set_axis_off()
        for ax, img in zip(axes[0], (a, b, a, b)):
            art["top"].append(ax.imshow(img))
        for ax, d in zip(axes[1], digits[:5]):
            art["bottom"].append(ax.imshow(d, cmap="gray_r", vmin=0, vmax=1))
        art["suptitle"] = fig.suptitle("", fontsize=10)
    rng = np.random.default_rng(0)
    lam = 1 - 0.5 * strength                       # mixing weight of the first image
    if augmentation in ("mixup", "cutmix"):
        def mix(x1, x2):
            if augmentation == "mixup":
                return augment.mixup(x1, [1, 0], x2, [0, 1], lam)
            return augment.cutmix(x1, [1, 0], x2, [0, 1], lam, rng)[:2]
        ab, t_ab = mix(a, b)
        ba, t_ba = mix(b, a)
        top = [(a, "china [1, 0]"), (b, "flower [0, 1]"),
               (ab, f"label [{t_ab[0]:.2f}, {t_ab[1]:.2f}]"), (ba, f"label [{t_ba[0]:.2f}, {t_ba[1]:.2f}]")]
        bottom = [mix(digits[i], digits[i + 1])[0] for i in range(5)]
    else:
        top = [(a, "original"), (b, "original")]
        top += [(augment.augment(x, augmentation, strength, rng), augmentation) for x in (a, b)]
        bottom = [augment.augment(d, augmentation, strength, rng) for d in digits[:5]]
    for im, (img, title) in zip(art["top"], top):
        im.set_data(np.clip(img, 0, 1))
        im.axes.set_title(title, fontsize=9)
    for im, d in zip(art["bottom"], bottom):
        im.set_data(np.clip(d, 0, 1))
    art["suptitle"].set_text(f"{augmentation}, strength {strength:.2f}")
