"""A small, reproducible PyTorch training loop shared by the chapters (torch is imported lazily)."""
import random

import numpy as np

from dlbook.checks import check_choice, check_int, check_positive, check_sizes


def seed_everything(seed):
    """Seed Python, NumPy and torch so a training run repeats exactly on the same machine."""
    check_int("seed", seed, lo=0)
    random.seed(int(seed))
    np.random.seed(int(seed))
    import torch
    torch.manual_seed(int(seed))


def mlp(sizes, activation="relu", bias=True):
    """nn.Sequential of Linear layers with `activation` between them: sizes = [d_in, h1, ..., d_out]."""
    import torch.nn as nn
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "linear": nn.Identity,
            "leaky_relu": nn.LeakyReLU, "gelu": nn.GELU}
    check_choice("activation", activation, sorted(acts))
    sizes = check_sizes("sizes", sizes)
    layers = []
    for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(int(d_in), int(d_out), bias=bias))
        if i < len(sizes) - 2:
            layers.append(acts[activation]())
    return nn.Sequential(*layers)


def _as_tensor(a, name, dtype):
    import torch
    t = torch.as_tensor(np.asarray(a), dtype=dtype)
    if t.dtype.is_floating_point and torch.isnan(t).any():
        raise ValueError(f"{name} contains NaN")
    return t


def fit(net, X, y, *, lr=0.1, num_epochs=10, batch_size=64, optimizer="sgd", momentum=0.0,
        weight_decay=0.0, loss="cross_entropy", X_val=None, y_val=None, seed=0, progress=True,
        desc="training", loss_fn=None, penalty=None, after_step=None, on_epoch_end=None):
    """Train `net` with mini-batch SGD/Adam; return a history dict of per-epoch losses/accuracies.

    X: (N, ...) float features, y: (N,) int labels (cross_entropy) or float targets (mse): (N,)
    for a net with one output, (N, d) for d outputs; other target shapes raise.
    Hooks: `loss_fn(output, target)` replaces the named loss (training and history);
    `penalty(net)` is added to the training loss only (e.g. an L1 term); `after_step(net)` runs
    after every optimizer step (e.g. a proximal shrink); `on_epoch_end(epoch, net, history)`
    runs after each epoch and stops training by returning True (early stopping, checkpoints).
    The loop also stops, recording `diverged_at`, if the loss becomes non-finite.
    """
    import torch
    from tqdm.auto import tqdm

    check_positive("lr", lr)
    check_int("num_epochs", num_epochs, lo=1)
    check_int("batch_size", batch_size, lo=1)
    losses = {"cross_entropy": torch.nn.functional.cross_entropy, "mse": _mse_loss}
    check_choice("loss", loss, sorted(losses))
    check_choice("optimizer", optimizer, ("sgd", "adam"))
    for name, hook in (("loss_fn", loss_fn), ("penalty", penalty), ("after_step", after_step),
                       ("on_epoch_end", on_epoch_end)):
        if hook is not None and not callable(hook):
            raise ValueError(f"{name} must be callable, got {hook!r}")
    dtype = next(net.parameters()).dtype
    X = _as_tensor(X, "X", dtype)
    y = _as_target(y, "y", dtype, loss, loss_fn)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    has_val = X_val is not None
    if has_val:
        X_val = _as_tensor(X_val, "X_val", dtype)
        y_val = _as_target(y_val, "y_val", dtype, loss, loss_fn)
    loss_fn = loss_fn or losses[loss]
    if optimizer == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(int(seed))
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": [], "diverged_at": None}
    for epoch in tqdm(range(num_epochs), desc=desc, disable=not progress, leave=False):
        net.train()
        order = torch.randperm(len(X), generator=gen)
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            batch_loss = loss_fn(net(X[idx]), y[idx])
            if penalty is not None:
                batch_loss = batch_loss + penalty(net)
            batch_loss.backward()
            opt.step()
            if after_step is not None:
                with torch.no_grad():
                    after_step(net)
        tr_loss, tr_acc = _evaluate(net, X, y, loss_fn)
        history["train_loss"].append(tr_loss)
        history["train_acc"].append(tr_acc)
        if has_val:
            va_loss, va_acc = _evaluate(net, X_val, y_val, loss_fn)
            history["val_loss"].append(va_loss)
            history["val_acc"].append(va_acc)
        if not np.isfinite(tr_loss):
            history["diverged_at"] = epoch
            break
        if on_epoch_end is not None and on_epoch_end(epoch, net, history):
            break
    return history


def _mse_loss(output, target):
    """torch's mse_loss on matching shapes: a (B, 1) output meets (B,) targets as (B,), never
    broadcast to (B, B) (torch only warns); any other shape mismatch raises."""
    import torch
    if output.ndim == target.ndim + 1 and output.shape[-1] == 1:
        output = output.squeeze(-1)
    if output.shape != target.shape:
        raise ValueError(f"y must have the shape of the net's output {tuple(output.shape)} "
                         f"(or that shape without a trailing 1), got {tuple(target.shape)}")
    return torch.nn.functional.mse_loss(output, target)


def _as_target(a, name, dtype, loss, loss_fn):
    """Labels as long for cross-entropy; with a custom loss_fn, ints stay long, floats take `dtype`."""
    import torch
    a = np.asarray(a)
    if loss_fn is None:
        return _as_tensor(a, name, torch.long if loss == "cross_entropy" else dtype)
    return _as_tensor(a, name, torch.long if np.issubdtype(a.dtype, np.integer) else dtype)


def _evaluate(net, X, y, loss_fn):
    """(mean loss, accuracy) in eval mode; accuracy only for integer labels, else NaN."""
    import torch
    net.eval()
    with torch.no_grad():
        out = net(X)
        value = float(loss_fn(out, y))
        if y.dtype == torch.long and out.ndim == 2:
            acc = (out.argmax(dim=1) == y).double().mean().item()
        else:
            acc = float("nan")
    return value, acc


def evaluate(net, X, y, loss="cross_entropy"):
    """(mean loss, accuracy) of `net` on tensors (X, y) in eval mode; accuracy is NaN for regression."""
    import torch
    losses = {"cross_entropy": torch.nn.functional.cross_entropy, "mse": _mse_loss}
    check_choice("loss", loss, sorted(losses))
    return _evaluate(net, X, y, losses[loss])


def accuracy(net, X, y):
    """Fraction of rows of X whose argmax prediction equals y."""
    import torch
    dtype = next(net.parameters()).dtype
    return evaluate(net, _as_tensor(X, "X", dtype), _as_tensor(y, "y", torch.long))[1]
