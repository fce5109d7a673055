"""dlbook.norm against PyTorch (float64): BatchNorm and LayerNorm, batch-size noise, its figure."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from dlbook import norm

TOL = dict(rtol=1e-10, atol=1e-10)
pytestmark = pytest.mark.usefixtures("torch_float64")   # torch layers built here are float64

shapes_bn = st.one_of(
    st.tuples(st.integers(2, 16), st.integers(1, 6)),
    st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(2, 7)))


def _t(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def _assert_matches_torch(ref, x, dy, gamma, beta, y, dx, dgamma, dbeta):
    """Run torch module `ref` (weight=γ, bias=β) forward on x and backward on dy; compare."""
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    xt = _t(x)
    yt = ref(xt)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(y, yt.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(dgamma, ref.weight.grad.numpy(), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(dbeta, ref.bias.grad.numpy(), rtol=1e-8, atol=1e-9)


# -- BatchNorm ---------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(shape=shapes_bn, seed=st.integers(0, 10_000), eps=st.sampled_from([1e-5, 1e-3, 0.1]))
def test_batchnorm_forward_backward_match_torch(shape, seed, eps):
    rng = np.random.default_rng(seed)
    x = rng.normal(2.0, 3.0, shape)
    C = shape[1]
    gamma, beta = rng.normal(size=C), rng.normal(size=C)
    dy = rng.normal(size=shape)
    y, cache = norm.batchnorm_forward(x, gamma, beta, eps)
    dx, dgamma, dbeta = norm.batchnorm_backward(dy, cache)

    _assert_matches_torch(torch.nn.BatchNorm1d(C, eps=eps), x, dy, gamma, beta, y, dx, dgamma, dbeta)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)])
def test_batchnorm_class_train_and_eval_match_torch_over_steps(momentum, shape):
    rng = np.random.default_rng(1)
    C = shape[1]
    ours = norm.BatchNorm1d(C, momentum=momentum)
    ref = torch.nn.BatchNorm1d(C, momentum=momentum)
    gamma, beta = rng.normal(size=C), rng.normal(size=C)
    ours.gamma, ours.beta = gamma.copy(), beta.copy()
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(gamma))
        ref.bias.copy_(torch.tensor(beta))
    for step in range(5):                              # several training steps
        x = rng.normal(step, 1 + step, shape)
        dy = rng.normal(size=shape)
        xt = _t(x)
        yt = ref(xt)
        yt.backward(torch.tensor(dy))
        np.testing.assert_allclose(ours(x), yt.detach().numpy(), **TOL)
        np.testing.assert_allclose(ours.backward(dy), xt.grad.numpy(), rtol=1e-8, atol=1e-9)
        np.testing.assert_allclose(ours.running_mean, ref.running_mean.numpy(), **TOL)
        np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), **TOL)
        assert ours.num_batches_tracked == int(ref.num_batches_tracked)
    ours.eval()
    ref.eval()
    x = rng.normal(size=(3,) + shape[1:])
    dy = rng.normal(size=x.shape)
    xt = _t(x)
    yt = ref(xt)
    yt.backward(torch.tensor(dy))
    np.testing.assert_allclose(ours(x), yt.detach().numpy(), **TOL)
    np.testing.assert_allclose(ours.backward(dy), xt.grad.numpy(), **TOL)


def test_running_var_is_unbiased_but_normalization_uses_biased():
    """The exact torch detail: running_var gets the m/(m−1)-corrected variance."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(4, 2))                        # small m = 4: the two differ by 4/3
    ref = torch.nn.BatchNorm1d(2, momentum=1.0)        # momentum 1: running_var = batch variance
    y_ref = ref(torch.tensor(x)).detach().numpy()
    ours = norm.BatchNorm1d(2, momentum=1.0)
    y = ours(x)
    np.testing.assert_allclose(ref.running_var.numpy(), x.var(axis=0, ddof=1), **TOL)
    assert not np.allclose(ref.running_var.numpy(), x.var(axis=0, ddof=0))
    np.testing.assert_allclose(ours.running_var, ref.running_var.numpy(), **TOL)
    biased = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5)
    unbiased = (x - x.mean(0)) / np.sqrt(x.var(0, ddof=1) + 1e-5)
    np.testing.assert_allclose(y, biased, **TOL)
    np.testing.assert_allclose(y_ref, biased, **TOL)
    assert not np.allclose(y_ref, unbiased)


def test_update_running_stats_formula():
    rm, rv = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    m, v = np.array([5.0, 6.0]), np.array([7.0, 8.0])
    new_m, new_v = norm.update_running_stats(rm, rv, m, v, 0.25)
    np.testing.assert_allclose(new_m, [2.0, 3.0])
    np.testing.assert_allclose(new_v, [4.0, 5.0])


def test_batchnorm_batch_of_one_raises_like_torch():
    with pytest.raises(ValueError, match="x"):
        norm.batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError):
        torch.nn.BatchNorm1d(3)(torch.ones(1, 3))
    # (1, C, L) with L > 1 is allowed in both
    x = np.random.default_rng(0).normal(size=(1, 2, 4))
    ref = torch.nn.BatchNorm1d(2)(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(norm.BatchNorm1d(2)(x), ref, **TOL)


def test_inline_notebook_batchnorm_equals_dlbook():
    """The few-line version the notebook builds inline is the dlbook function."""
    rng = np.random.default_rng(3)
    x, gamma, beta = rng.normal(size=(10, 4)), rng.normal(size=4), rng.normal(size=4)
    eps = 1e-5
    mu = x.mean(axis=0)
    var = ((x - mu) ** 2).mean(axis=0)
    x_hat = (x - mu) / np.sqrt(var + eps)
    y_inline = gamma * x_hat + beta
    np.testing.assert_allclose(y_inline, norm.batchnorm_forward(x, gamma, beta, eps)[0], **TOL)
    dy = rng.normal(size=x.shape)
    m = x.shape[0]
    dx_inline = gamma / (m * np.sqrt(var + eps)) * (m * dy - dy.sum(0) - x_hat * (dy * x_hat).sum(0))
    _, cache = norm.batchnorm_forward(x, gamma, beta, eps)
    np.testing.assert_allclose(dx_inline, norm.batchnorm_backward(dy, cache)[0], **TOL)
    # the inline LayerNorm of the notebook
    mu_l = x.mean(axis=-1, keepdims=True)
    var_l = x.var(axis=-1, keepdims=True)
    y_ln = gamma * (x - mu_l) / np.sqrt(var_l + eps) + beta
    np.testing.assert_allclose(y_ln, norm.layernorm_forward(x, gamma, beta, eps)[0], **TOL)


@pytest.mark.parametrize("bad, match", [
    (dict(x=np.ones(3)), "x"), (dict(x=np.ones((2, 3, 4, 5))), "x"),
    (dict(x=np.array([[np.nan, 1.0, 2.0], [1.0, 2.0, 3.0]])), "x"),
    (dict(gamma=np.ones(2)), "gamma"), (dict(beta=np.ones(4)), "beta"), (dict(eps=0.0), "eps"),
    (dict(eps=-1.0), "eps")])
def test_batchnorm_bad_input(bad, match):
    args = dict(x=np.ones((4, 3)), gamma=np.ones(3), beta=np.zeros(3), eps=1e-5)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        norm.batchnorm_forward(**args)


def test_batchnorm_class_bad_input():
    with pytest.raises(ValueError, match="num_features"):
        norm.BatchNorm1d(0)
    with pytest.raises(ValueError, match="momentum"):
        norm.BatchNorm1d(3, momentum=1.5)
    with pytest.raises(ValueError, match="x"):
        norm.BatchNorm1d(3)(np.ones((4, 2)))
    with pytest.raises(ValueError, match="dy"):
        norm.BatchNorm1d(3).backward(np.ones((4, 3)))
    bn = norm.BatchNorm1d(3)
    bn(np.random.default_rng(0).normal(size=(4, 3)))
    with pytest.raises(ValueError, match="dy"):
        bn.backward(np.ones((5, 3)))
    with pytest.raises(ValueError, match="running_var"):
        norm.batchnorm_inference(np.ones((2, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(2))


# -- LayerNorm ---------------------------------------------------------------------------------
@settings(max_examples=40, deadline=None)
@given(batch=st.lists(st.integers(1, 4), min_size=0, max_size=2),
       normalized=st.lists(st.integers(1, 6), min_size=1, max_size=2).filter(
           lambda s: math.prod(s) > 1),
       seed=st.integers(0, 10_000), eps=st.sampled_from([1e-5, 1e-2]))
def test_layernorm_forward_backward_match_torch(batch, normalized, seed, eps):
    rng = np.random.default_rng(seed)
    shape = tuple(batch) + tuple(normalized)
    x = rng.normal(-1.0, 2.0, shape)
    gamma, beta = rng.normal(size=normalized), rng.normal(size=normalized)
    dy = rng.normal(size=shape)
    ln = norm.LayerNorm(tuple(normalized), eps=eps)
    ln.gamma, ln.beta = gamma, beta
    y = ln(x)
    dx = ln.backward(dy)
    _assert_matches_torch(torch.nn.LayerNorm(tuple(normalized), eps=eps), x, dy, gamma, beta,
                          y, dx, ln.dgamma, ln.dbeta)


def test_layernorm_is_per_sample_and_batch_of_one_works():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 8))
    ln = norm.LayerNorm(8)
    full = ln(x)
    one = ln(x[2:3])
    np.testing.assert_allclose(full[2:3], one, **TOL)   # independent of the other samples


@pytest.mark.parametrize("bad, match", [
    (dict(gamma=np.ones(4)), "gamma"), (dict(beta=np.ones(4)), "beta"), (dict(eps=0), "eps"),
    (dict(x=np.full((2, 3), np.inf)), "x")])
def test_layernorm_bad_input(bad, match):
    args = dict(x=np.ones((2, 3)), gamma=np.ones(3), beta=np.zeros(3), eps=1e-5)
    args.update(bad)
    with pytest.raises(ValueError, match=match):
        norm.layernorm_forward(**args)
    with pytest.raises(ValueError, match="normalized_shape"):
        norm.LayerNorm(0)


# -- batch noise ---------------------------------------------------------------------------------
def test_batch_statistics_noise_shrinks_like_one_over_sqrt_b():
    x = np.random.default_rng(5).normal(3.0, 2.0, size=5000)
    sd = [norm.batch_statistics(x, b, num_batches=4000, index=0)["mean"].std() for b in (4, 64)]
    # the fixed example x[0] is always in the batch; the other b−1 values are random
    expected = [2.0 * np.sqrt(b - 1) / b for b in (4, 64)]
    np.testing.assert_allclose(sd, expected, rtol=0.1)
    with pytest.raises(ValueError, match="batch_size"):
        norm.batch_statistics(x, 0)
    with pytest.raises(ValueError, match="index"):
        norm.batch_statistics(x, 4, index=10**6)


def test_batch_of_one_output_is_exactly_zero():
    x = np.random.default_rng(6).normal(size=100)
    assert np.all(norm.batch_statistics(x, 1, num_batches=10)["x_hat"] == 0)


# -- the chapter's interactive figure (persistent artists, clear=False) ---------------------------
def test_batch_noise_figure_renders_every_static_frame(persistent_frames_match):
    from dlbook import widgets
    x = np.random.default_rng(12).normal(1.0, 2.0, 500)
    feature = norm.register_feature("test feature", x)
    persistent_frames_match(lambda clear: widgets.interactive(
        lambda fig, batch_size: norm.draw_batch_noise(fig, batch_size, feature), clear=clear,
        batch_size=widgets.IntSlider(2, 256, value=16, static=[2, 4, 8, 16, 32, 64, 128, 256]),
        figsize=(8, 2.9)))


def test_finetune_copy_frozen_keeps_statistics_and_train_mode_follows_torch_rule():
    rng = np.random.default_rng(11)
    X, y = rng.normal(2.0, 3.0, size=(40, 6)), rng.integers(0, 3, 40)
    torch.manual_seed(0)
    pre = norm.bn_mlp(6, 3, width=8).double()
    before = [m.running_mean.clone() for m in pre.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    frozen, losses = norm.finetune_copy(pre, X, y, "frozen", steps=5, batch_size=8)
    assert losses.shape == (5,) and not frozen.training
    for m, b in zip([m for m in frozen.modules() if isinstance(m, torch.nn.BatchNorm1d)], before):
        assert torch.equal(m.running_mean, b) and m.num_batches_tracked.item() == 0
    trained, _ = norm.finetune_copy(pre, X, y, "train", steps=5, batch_size=8)
    bn = trained[1]
    assert bn.num_batches_tracked.item() == 5 and not torch.equal(bn.running_mean, before[0])
    assert torch.equal(pre[1].running_mean, before[0])             # the original is untouched
    # one full-batch step by hand equals finetune_copy (same batch: the whole set, permuted)
    ref = norm.bn_mlp(6, 3, width=8).double()
    ref.load_state_dict(pre.state_dict())
    opt = torch.optim.SGD(ref.parameters(), lr=0.05)
    ref.train()
    torch.nn.functional.cross_entropy(ref(torch.tensor(X)), torch.tensor(y)).backward()
    opt.step()
    one, _ = norm.finetune_copy(pre, X, y, "train", lr=0.05, steps=1, batch_size=40)
    for a, b in zip(one.parameters(), ref.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(one[1].running_var.numpy(), ref[1].running_var.numpy(), rtol=1e-12)


def test_finetune_copy_bad_input():
    pre = norm.bn_mlp(4, 2, width=4).double()
    X, y = np.zeros((10, 4)), np.zeros(10, dtype=int)
    with pytest.raises(ValueError, match="bn_mode"):
        norm.finetune_copy(pre, X, y, "eval")
    with pytest.raises(ValueError, match="lr"):
        norm.finetune_copy(pre, X, y, lr=-1.0)
    with pytest.raises(ValueError, match="batch_size"):
        norm.finetune_copy(pre, X, y, batch_size=20)


def test_fit_bn_variant_without_test_set():
    rng = np.random.default_rng(12)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    hist, train_acc, test_acc = norm.fit_bn_variant(X, y, num_epochs=1, batch_size=10)
    assert math.isnan(test_acc) and 0 <= train_acc <= 1 and len(hist["train_loss"]) == 1
