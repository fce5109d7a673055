"""Edge cases of dlbook.norm against torch.nn.BatchNorm1d (float64): affine=False, eval before any
training, a batch of 2, changing batch sizes, momentum=None, and degenerate shapes (issue 8)."""
import numpy as np
import pytest
import torch

from dlbook import norm


def _torch_step(ref, x, dy):
    xt = torch.tensor(x, requires_grad=True)
    yt = ref(xt)
    yt.backward(torch.tensor(dy))
    return yt.detach().numpy(), xt.grad.numpy()


def test_affine_false_backward_gives_zero_dgamma_dbeta():
    # Defect 2: the flag was stored and never used, so dgamma/dbeta were the affine ones.
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((6, 3)), rng.standard_normal((6, 3))
    for training in (True, False):
        bn = norm.BatchNorm1d(3, affine=False).train(training)
        bn(x)
        bn.backward(dy)
        np.testing.assert_array_equal(bn.dgamma, np.zeros(3))
        np.testing.assert_array_equal(bn.dbeta, np.zeros(3))


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [True, False])
def test_train_eval_changing_batch_sizes_match_torch(momentum, affine):
    # batch sizes 2, 5, 3, (N, C, L) not mixed: (N, C) here; eval before any training first
    rng = np.random.default_rng(1)
    C = 3
    ours = norm.BatchNorm1d(C, momentum=momentum, affine=affine)
    ref = torch.nn.BatchNorm1d(C, momentum=momentum, affine=affine).double()
    if affine:                                    # non-trivial gamma and beta, the same in both
        gamma, beta = rng.standard_normal(C), rng.standard_normal(C)
        ours.gamma, ours.beta = gamma.copy(), beta.copy()
        with torch.no_grad():
            ref.weight.copy_(torch.tensor(gamma))
            ref.bias.copy_(torch.tensor(beta))
    plan = [("eval", 4), ("train", 2), ("train", 5), ("eval", 2), ("train", 3), ("train", 2), ("eval", 7)]
    for mode, n in plan:
        x, dy = 3 * rng.standard_normal((n, C)) + 1, rng.standard_normal((n, C))
        ours.train(mode == "train")
        ref.train(mode == "train")
        if ref.weight is not None:
            ref.weight.grad = None
            ref.bias.grad = None
        y_t, dx_t = _torch_step(ref, x, dy)
        y = ours(x)
        dx = ours.backward(dy)
        np.testing.assert_allclose(y, y_t, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx, dx_t, rtol=1e-9, atol=1e-11)
        if affine:
            np.testing.assert_allclose(ours.dgamma, ref.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(ours.dbeta, ref.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
        else:
            np.testing.assert_array_equal(ours.dgamma, 0.0)
        np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-12, atol=1e-14)
        assert ours.num_batches_tracked == int(ref.num_batches_tracked)


def test_batch_of_two_three_d_input_matches_torch():
    rng = np.random.default_rng(2)
    x, dy = rng.standard_normal((2, 3, 1)), rng.standard_normal((2, 3, 1))   # m = 2 per channel
    ours, ref = norm.BatchNorm1d(3), torch.nn.BatchNorm1d(3).double()
    y_t, dx_t = _torch_step(ref, x, dy)
    np.testing.assert_allclose(ours(x), y_t, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.backward(dy), dx_t, rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), rtol=1e-12)


@pytest.mark.parametrize("shape", [(4, 0), (4, 0, 3), (0, 3)])
def test_empty_channels_or_batch_raise_value_error_naming_x(shape):
    # Defect 10: (4, 0) raised ZeroDivisionError.
    x = np.zeros(shape)
    C = shape[1]
    with pytest.raises(ValueError, match="x"):
        norm.batchnorm_forward(x, np.ones(C), np.zeros(C))
