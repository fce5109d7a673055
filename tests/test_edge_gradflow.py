"""Edge cases of dlbook.gradflow clipping against torch.nn.utils (issue 8): zero, inf and NaN
gradients, eps = 0, max_norm = inf."""
import math

import numpy as np
import pytest
import torch

from dlbook import gradflow


def _torch_clip(grads, max_norm, norm_type=2.0):
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    return [p.grad.numpy() for p in params], float(total)


@pytest.mark.parametrize("eps", [0.0, 1e-6])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_all_zero_gradients_are_left_unchanged(eps, norm_type):
    # Defect 3: eps = 0 raised ZeroDivisionError; torch returns the zeros and norm 0.
    grads = [np.zeros((2, 3)), np.zeros(4)]
    clipped, total = gradflow.clip_grad_norm(grads, 1.0, norm_type=norm_type, eps=eps)
    assert total == 0.0
    for c in clipped:
        np.testing.assert_array_equal(c, 0.0)
    ref, ref_total = _torch_clip(grads, 1.0, norm_type)
    assert ref_total == total
    for c, r in zip(clipped, ref):
        np.testing.assert_array_equal(c, r)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
@pytest.mark.parametrize("norm_type", [2.0, math.inf])
def test_non_finite_gradients_match_torch(bad, norm_type):
    # torch (error_if_nonfinite=False): an inf norm scales by 0 (finite entries → 0, inf → NaN);
    # a NaN norm makes everything NaN. dlbook does the same (documented in the docstring).
    grads = [np.array([[1.0, bad], [0.5, -2.0]]), np.array([3.0, 0.0])]
    clipped, total = gradflow.clip_grad_norm(grads, 1.0, norm_type=norm_type)
    ref, ref_total = _torch_clip(grads, 1.0, norm_type)
    np.testing.assert_array_equal(total, ref_total)            # equal, NaN == NaN here
    for c, r in zip(clipped, ref):
        np.testing.assert_array_equal(c, r)
    for c, r in zip(gradflow.clip_grad_value(grads, 1.0), [np.clip(g, -1, 1) for g in grads]):
        np.testing.assert_array_equal(c, r)
    t = [torch.tensor(g, requires_grad=False) for g in grads]
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, t):
        p.grad = g.clone()
    torch.nn.utils.clip_grad_value_(params, 1.0)
    for c, p in zip(gradflow.clip_grad_value(grads, 1.0), params):
        np.testing.assert_array_equal(c, p.grad.numpy())


def test_max_norm_inf_raises_where_torch_does_nothing():
    # Deliberate difference (docstring): torch treats max_norm = inf as "no clipping".
    with pytest.raises(ValueError, match="max_norm"):
        gradflow.clip_grad_norm([np.ones(3)], math.inf)
