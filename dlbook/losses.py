"""Loss functions and their gradients in NumPy, numerically stable at the extremes.

Conventions follow `torch.nn.functional`: `f(input, target, reduction="mean")`, where
reduction "none" gives the per-example losses, "mean" the cost and "sum" their total.
"""
import numpy as np

from dlbook import activations
from dlbook.checks import check_positive as _check_positive

LOG_MIN = -100.0  # torch.nn.functional.binary_cross_entropy clamps log(p) at -100: loss ≤ 100


# -- input checks ------------------------------------------------------------------------------
def _array(a, name):
    a = np.asarray(a, dtype=np.float64)
    if np.isnan(a).any():
        raise ValueError(f"{name} contains NaN")
    return a


def _pair(input, target):
    input, target = _array(input, "input"), _array(target, "target")
    if input.shape != target.shape:
        raise ValueError(f"target must have the shape of input {input.shape}, got {target.shape}")
    return input, target


def _reduce(loss, reduction):
    """Per-element losses → 'none' (as is), 'mean' (the cost) or 'sum'."""
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean() if loss.size else np.float64(np.nan)   # empty batch: NaN, as torch
    if reduction == "sum":
        return loss.sum()
    raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _scale(n, reduction):
    """d(cost)/d(loss_i): 1/n for 'mean', 1 otherwise (an empty batch has an empty gradient)."""
    _reduce(np.zeros(1), reduction)
    return 1.0 / n if reduction == "mean" and n > 0 else 1.0


# -- regression losses: residual r = y_hat − y -------------------------------------------------
def mse(input, target, reduction="mean"):
    """Squared error r²; its mean is torch's mse_loss."""
    y_hat, y = _pair(input, target)
    return _reduce((y_hat - y) ** 2, reduction)


def mse_grad(input, target, reduction="mean"):
    """∂cost/∂y_hat = 2r (÷ n for the mean)."""
    y_hat, y = _pair(input, target)
    return 2.0 * (y_hat - y) * _scale(y.size, reduction)


def mae(input, target, reduction="mean"):
    """Absolute error |r|; torch's l1_loss."""
    y_hat, y = _pair(input, target)
    return _reduce(np.abs(y_hat - y), reduction)


def mae_grad(input, target, reduction="mean"):
    """sign(r) (÷ n for the mean); 0 at r = 0, like torch."""
    y_hat, y = _pair(input, target)
    return np.sign(y_hat - y) * _scale(y.size, reduction)


def huber(input, target, delta=1.0, reduction="mean"):
    """½r² for |r| ≤ δ, δ(|r| − ½δ) beyond: quadratic near 0, linear in the tails (torch's huber_loss)."""
    _check_positive("delta", delta)
    y_hat, y = _pair(input, target)
    a = np.abs(y_hat - y)
    return _reduce(np.where(a <= delta, 0.5 * a ** 2, delta * (a - 0.5 * delta)), reduction)


def huber_grad(input, target, delta=1.0, reduction="mean"):
    """r clipped to [−δ, δ] (÷ n for the mean): the gradient never exceeds δ."""
    _check_positive("delta", delta)
    y_hat, y = _pair(input, target)
    return np.clip(y_hat - y, -delta, delta) * _scale(y.size, reduction)


# -- classification losses ---------------------------------------------------------------------
def _check_unit_interval(a, name):
    if ((a < 0) | (a > 1)).any():
        raise ValueError(f"{name} must lie in [0, 1]")


def _safe_log(p):
    """log p clamped at −100, so p = 0 gives a large finite loss instead of inf (as torch)."""
    with np.errstate(divide="ignore"):
        return np.maximum(np.log(p), LOG_MIN)


def binary_cross_entropy(input, target, reduction="mean"):
    """−[y log p + (1 − y) log(1 − p)] from probabilities p = input; finite at p = 0 or 1."""
    p, y = _pair(input, target)
    _check_unit_interval(p, "input")
    _check_unit_interval(y, "target")
    return _reduce(0.0 - (y * _safe_log(p) + (1 - y) * _safe_log(1 - p)), reduction)  # 0 − (...): no −0.0


def binary_cross_entropy_with_logits(input, target, reduction="mean"):
    """BCE of p = σ(z) from logits z, as max(z, 0) − z·y + log(1 + e^−|z|): finite for |z| = 1e4."""
    z, y = _pair(input, target)
    _check_unit_interval(y, "target")
    return _reduce(np.maximum(z, 0) - z * y + np.log1p(np.exp(-np.abs(z))), reduction)


def binary_cross_entropy_with_logits_grad(input, target, reduction="mean"):
    """∂cost/∂z = σ(z) − y (÷ n for the mean)."""
    z, y = _pair(input, target)
    _check_unit_interval(y, "target")
    return (activations.sigmoid(z) - y) * _scale(y.size, reduction)


def _target_distribution(target, shape):
    """Class indices (N,) → one-hot (N, C); probabilities (N, C) pass through (checked)."""
    target = np.asarray(target)
    n, c = shape
    if target.shape == (n,):
        if not np.issubdtype(target.dtype, np.integer):
            raise ValueError(f"target of shape (N,) must hold integer class indices, got {target.dtype}")
        if ((target < 0) | (target >= c)).any():
            raise ValueError(f"target class indices must lie in [0, {c})")
        return np.eye(c)[target]
    if target.shape == (n, c):
        q = _array(target, "target")
        _check_unit_interval(q, "target")
        return q
    raise ValueError(f"target must have shape ({n},) or ({n}, {c}), got {target.shape}")


def _logits(input):
    z = _array(input, "input")
    if z.ndim != 2:
        raise ValueError(f"input must be 2-D (N, C) logits, got shape {z.shape}")
    return z


def cross_entropy(input, target, reduction="mean"):
    """−Σ_c y_c log softmax(z)_c from logits z (N, C); target = class indices (N,) or probabilities."""
    z = _logits(input)
    q = _target_distribution(target, z.shape)
    # 0 · log p is taken as 0 even where log p = −inf would make 0·(−inf) = NaN
    log_p = activations.log_softmax(z, axis=1)
    return _reduce(-np.where(q > 0, q * log_p, 0.0).sum(axis=1), reduction)


def cross_entropy_grad(input, target, reduction="mean"):
    """∂cost/∂z = softmax(z) − y (÷ N for the mean): prediction minus truth, as for BCE."""
    z = _logits(input)
    q = _target_distribution(target, z.shape)
    # for soft targets q: ∂/∂z of −Σ q log softmax(z) = softmax(z)·Σq − q
    return (activations.softmax(z, axis=1) * q.sum(axis=1, keepdims=True) - q) * _scale(len(z), reduction)


def categorical_cross_entropy(input, target, reduction="mean"):
    """−Σ_c y_c log p_c from probabilities p = input (N, C) (the notes' formula); log clamped at −100."""
    p = _logits(input)
    _check_unit_interval(p, "input")
    q = _target_distribution(target, p.shape)
    return _reduce(-np.where(q > 0, q * _safe_log(p), 0.0).sum(axis=1), reduction)
