"""Edge cases of every loss in dlbook.losses and the imbalance losses of dlbook.regularize, against
torch.nn.functional (float64, autograd for gradients) (issue 8): empty batches, 0-d inputs, and
logits up to ±1e4 for every cross-entropy variant (plain, soft-target, binary, weighted, focal)."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from dlbook import losses, regularize

REDUCTIONS = ["mean", "sum", "none"]
# (dlbook loss, dlbook grad or None, torch twin taking tensors and reduction)
REGRESSION = {
    "mse": (losses.mse, losses.mse_grad, lambda a, b, r: F.mse_loss(a, b, reduction=r)),
    "mae": (losses.mae, losses.mae_grad, lambda a, b, r: F.l1_loss(a, b, reduction=r)),
    "huber": (losses.huber, losses.huber_grad, lambda a, b, r: F.huber_loss(a, b, reduction=r, delta=1.0)),
    "bce_logits": (losses.binary_cross_entropy_with_logits, losses.binary_cross_entropy_with_logits_grad,
                   lambda a, b, r: F.binary_cross_entropy_with_logits(a, b, reduction=r)),
    "bce": (losses.binary_cross_entropy, None, lambda a, b, r: F.binary_cross_entropy(a, b, reduction=r)),
}


def _torch(fn, x, t, reduction):
    """Value and autograd gradient of a torch loss at float64 numpy inputs."""
    xt = torch.tensor(np.asarray(x, dtype=np.float64), requires_grad=True)
    out = fn(xt, torch.tensor(t) if not isinstance(t, torch.Tensor) else t, reduction)
    if out.numel():
        (out.sum() if out.ndim else out).backward()
        grad = xt.grad.numpy() if xt.grad is not None else np.zeros(xt.shape)
    else:
        grad = np.zeros(xt.shape)
    return out.detach().numpy(), grad


def _check(ours, ref, rtol=1e-12, atol=1e-12):
    ours = np.asarray(ours)
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("name", sorted(REGRESSION))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_batch_matches_torch(name, reduction):
    # Defect 4: the *_grad functions raised ZeroDivisionError for reduction="mean"; torch gives a
    # NaN mean, a 0 sum, an empty 'none', and an empty gradient.
    loss, grad, ref = REGRESSION[name]
    x, t = np.zeros(0), np.zeros(0)
    value, ref_grad = _torch(ref, x, t, reduction)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # no "mean of empty slice" warning
        _check(loss(x, t, reduction=reduction), value)
        if grad is not None:
            _check(grad(x, t, reduction=reduction), ref_grad)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("C", [1, 3])
def test_empty_batch_cross_entropy_matches_torch(reduction, C):
    z = np.zeros((0, C))
    y = np.zeros(0, dtype=np.int64)
    for target in (y, np.zeros((0, C))):                     # class indices, probabilities
        value, ref_grad = _torch(lambda a, b, r: F.cross_entropy(a, b, reduction=r), z, target, reduction)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _check(losses.cross_entropy(z, target, reduction=reduction), value)
            _check(losses.cross_entropy_grad(z, target, reduction=reduction), ref_grad)
            _check(losses.categorical_cross_entropy(np.full((0, C), 0.5), target, reduction=reduction), value)


@pytest.mark.parametrize("name", sorted(REGRESSION))
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_zero_d_inputs_match_torch(name, reduction):
    loss, grad, ref = REGRESSION[name]
    for x, t in ((0.3, 0.8), (0.9, 0.0), (0.5, 0.5)):
        x, t = np.float64(x), np.float64(t)
        value, ref_grad = _torch(ref, x, t, reduction)
        _check(loss(x, t, reduction=reduction), value)
        if grad is not None:
            _check(grad(x, t, reduction=reduction), ref_grad)


def test_zero_d_logits_raise_for_cross_entropy_as_in_torch():
    # torch needs at least a class dimension too (0-d input raises there as well)
    with pytest.raises(RuntimeError):
        F.cross_entropy(torch.tensor(1.0, dtype=torch.float64), torch.tensor(0))
    for fn in (losses.cross_entropy, losses.cross_entropy_grad, losses.categorical_cross_entropy):
        with pytest.raises(ValueError, match="input"):
            fn(np.float64(0.5), np.int64(0))


def _extreme_logits(N=6, C=4, seed=0):
    """Logits mixing ±1e4, ±1e3, ties, and moderate values; labels hitting the max and the min."""
    rng = np.random.default_rng(seed)
    z = rng.choice([-1e4, -1e3, -3.0, 0.0, 2.5, 1e3, 1e4], size=(N, C))
    z[0] = [1e4, -1e4, 0.0, 1e4]              # a tie at the top
    z[1] = [-1e4, -1e4, -1e4, -1e4]           # all equal and very negative
    y = rng.integers(0, C, N)
    y[0], y[1] = 1, 2                          # a label on the −1e4 logit (loss 2e4)
    return z, y


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cross_entropy_at_logits_of_1e4_matches_torch(reduction, seed):
    z, y = _extreme_logits(seed=seed)
    fn = lambda a, b, r: F.cross_entropy(a, b, reduction=r)
    value, ref_grad = _torch(fn, z, y, reduction)
    assert np.all(np.isfinite(value))
    _check(losses.cross_entropy(z, y, reduction=reduction), value, rtol=1e-13, atol=1e-9)
    _check(losses.cross_entropy_grad(z, y, reduction=reduction), ref_grad, rtol=1e-12, atol=1e-15)
    soft = np.random.default_rng(seed).dirichlet(np.ones(z.shape[1]), size=len(z))
    value, ref_grad = _torch(fn, z, soft, reduction)
    _check(losses.cross_entropy(z, soft, reduction=reduction), value, rtol=1e-12, atol=1e-9)
    _check(losses.cross_entropy_grad(z, soft, reduction=reduction), ref_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_at_1e4_matches_torch(reduction):
    z = np.array([1e4, -1e4, 1e4, -1e4, 1e3, -1e3, 0.0, 36.0, -36.0, 800.0])
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.3, 0.7, 0.5, 1.0, 1.0, 0.0])
    fn = lambda a, b, r: F.binary_cross_entropy_with_logits(a, b, reduction=r)
    value, ref_grad = _torch(fn, z, t, reduction)
    _check(losses.binary_cross_entropy_with_logits(z, t, reduction=reduction), value, rtol=1e-13, atol=1e-12)
    _check(losses.binary_cross_entropy_with_logits_grad(z, t, reduction=reduction), ref_grad,
           rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weighted_cross_entropy_at_logits_of_1e4_matches_torch(seed):
    z, y = _extreme_logits(seed=seed)
    w = np.array([0.5, 2.0, 1.0, 3.0])
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(y), weight=torch.tensor(w)).item()
    assert regularize.weighted_cross_entropy(z, y, w) == pytest.approx(ref, rel=1e-13)
    ref = F.cross_entropy(torch.tensor(z), torch.tensor(y)).item()
    assert regularize.weighted_cross_entropy(z, y) == pytest.approx(ref, rel=1e-13)


@pytest.mark.parametrize("gamma", [0.0, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("use_alpha", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_focal_loss_at_logits_of_1e4_matches_torch_autograd(gamma, use_alpha, seed):
    z, y = _extreme_logits(seed=seed)
    alpha = np.array([0.25, 0.5, 1.0, 2.0]) if use_alpha else None
    zt = torch.tensor(z, requires_grad=True)
    ref = regularize.focal_loss_torch(zt, torch.tensor(y), gamma, alpha)
    ref.backward()
    assert np.isfinite(ref.item())
    assert regularize.focal_loss(z, y, gamma, alpha) == pytest.approx(ref.item(), rel=1e-13)
    np.testing.assert_allclose(regularize.focal_loss_grad(z, y, gamma, alpha), zt.grad.numpy(),
                               rtol=1e-12, atol=1e-15)
    if gamma == 0.0 and alpha is None:                   # γ = 0 is plain cross-entropy
        assert regularize.focal_loss(z, y, 0.0) == pytest.approx(F.cross_entropy(
            torch.tensor(z), torch.tensor(y)).item(), rel=1e-13)
