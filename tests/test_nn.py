"""dlbook.nn against PyTorch (float64): losses, gradients, the NumPy MLP, gradient checks."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from dlbook import activations, losses, nn, widgets

TOL = dict(rtol=1e-10, atol=1e-12)
REDUCTIONS = ["mean", "sum", "none"]
FAST = settings(max_examples=30, deadline=None)

shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)
floats = st.floats(-50, 50, allow_nan=False, width=64)


def pair(draw, shape, elements=floats):
    return draw(hnp.arrays(np.float64, shape, elements=elements)), \
        draw(hnp.arrays(np.float64, shape, elements=elements))


def t(a, grad=False):
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=grad)


def torch_value_and_grad(fn, input, *args, **kw):
    x = t(input, grad=True)
    out = fn(x, *args, **kw)
    out.sum().backward()
    return out.detach().numpy(), x.grad.numpy()


# -- regression losses -----------------------------------------------------------------------------
@FAST
@given(st.data(), shapes, st.sampled_from(REDUCTIONS))
def test_mse_mae_match_torch(data, shape, reduction):
    y_hat, y = pair(data.draw, shape)
    for mine, grad, ref in ((losses.mse, losses.mse_grad, F.mse_loss), (losses.mae, losses.mae_grad, F.l1_loss)):
        value, g = torch_value_and_grad(ref, y_hat, t(y), reduction=reduction)
        np.testing.assert_allclose(mine(y_hat, y, reduction), value, **TOL)
        if reduction != "none":   # grad of the summed per-element losses = grad with 'sum'
            np.testing.assert_allclose(grad(y_hat, y, reduction), g, **TOL)
        else:
            np.testing.assert_allclose(grad(y_hat, y, "sum"), g, **TOL)


@FAST
@given(st.data(), shapes, st.sampled_from(["mean", "sum"]),
       st.floats(0.01, 20, allow_nan=False))
def test_huber_matches_torch(data, shape, reduction, delta):
    y_hat, y = pair(data.draw, shape, st.floats(-10, 10, width=64))
    value, g = torch_value_and_grad(F.huber_loss, y_hat, t(y), reduction=reduction, delta=delta)
    np.testing.assert_allclose(losses.huber(y_hat, y, delta, reduction), value, **TOL)
    np.testing.assert_allclose(losses.huber_grad(y_hat, y, delta, reduction), g, **TOL)


def test_huber_limits_are_mse_and_mae():
    r = np.linspace(-5, 5, 101)
    zero = np.zeros_like(r)
    # large δ: ½ r²; small δ: Huber/δ → |r|
    np.testing.assert_allclose(losses.huber(r, zero, 100.0, "none"), 0.5 * losses.mse(r, zero, "none"), **TOL)
    np.testing.assert_allclose(losses.huber(r, zero, 1e-6, "none") / 1e-6, losses.mae(r, zero, "none"), atol=1e-5)


# -- classification losses ------------------------------------------------------------------------
probs = st.floats(0, 1, width=64)


@FAST
@given(st.data(), shapes, st.sampled_from(REDUCTIONS))
def test_binary_cross_entropy_matches_torch(data, shape, reduction):
    p = data.draw(hnp.arrays(np.float64, shape, elements=probs))   # includes exact 0 and 1
    y = data.draw(hnp.arrays(np.float64, shape, elements=probs))
    ref = F.binary_cross_entropy(t(p), t(y), reduction=reduction).numpy()
    mine = losses.binary_cross_entropy(p, y, reduction)
    assert np.all(np.isfinite(mine))
    np.testing.assert_allclose(mine, ref, **TOL)


@FAST
@given(st.data(), shapes, st.sampled_from(["mean", "sum"]))
def test_bce_with_logits_matches_torch(data, shape, reduction):
    z = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(-1e4, 1e4, width=64)))
    y = data.draw(hnp.arrays(np.float64, shape, elements=probs))
    value, g = torch_value_and_grad(F.binary_cross_entropy_with_logits, z, t(y), reduction=reduction)
    np.testing.assert_allclose(losses.binary_cross_entropy_with_logits(z, y, reduction), value, **TOL)
    np.testing.assert_allclose(losses.binary_cross_entropy_with_logits_grad(z, y, reduction), g, **TOL)


@FAST
@given(st.integers(1, 6), st.integers(2, 6), st.data(), st.sampled_from(REDUCTIONS))
def test_cross_entropy_matches_torch(n, c, data, reduction):
    z = data.draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-1e4, 1e4, width=64)))
    labels = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    ref = F.cross_entropy(t(z), torch.as_tensor(labels), reduction=reduction).numpy()
    np.testing.assert_allclose(losses.cross_entropy(z, labels, reduction), ref, **TOL)
    # soft targets (probability rows)
    q = activations.softmax(data.draw(hnp.arrays(np.float64, (n, c), elements=floats)), axis=1)
    ref_q = F.cross_entropy(t(z), t(q), reduction=reduction).numpy()
    np.testing.assert_allclose(losses.cross_entropy(z, q, reduction), ref_q, **TOL)


@FAST
@given(st.integers(1, 6), st.integers(2, 6), st.data(), st.sampled_from(["mean", "sum"]))
def test_cross_entropy_grad_matches_autograd(n, c, data, reduction):
    z = data.draw(hnp.arrays(np.float64, (n, c), elements=st.floats(-30, 30, width=64)))
    labels = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    soft = data.draw(hnp.arrays(np.float64, (n, c), elements=probs))  # rows need not sum to 1
    for target, ref_target in ((labels, torch.as_tensor(labels)), (soft, t(soft))):
        _, g = torch_value_and_grad(F.cross_entropy, z, ref_target, reduction=reduction)
        np.testing.assert_allclose(losses.cross_entropy_grad(z, target, reduction), g, **TOL)


@FAST
@given(st.integers(1, 6), st.integers(2, 6), st.data())
def test_categorical_cross_entropy_is_nll_of_log_probabilities(n, c, data):
    p = activations.softmax(data.draw(hnp.arrays(np.float64, (n, c), elements=floats)), axis=1)
    labels = np.asarray(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    ref = F.nll_loss(torch.log(t(p)).clamp(min=-100), torch.as_tensor(labels)).numpy()
    np.testing.assert_allclose(losses.categorical_cross_entropy(p, labels), ref, **TOL)


def test_notes_cat_example():
    p = np.array([[0.1, 0.2, 0.6, 0.1]])            # dog, bird, cat, fish; truth: cat (index 2)
    assert losses.categorical_cross_entropy(p, np.array([2])) == pytest.approx(-math.log(0.6), rel=1e-12)
    assert losses.cross_entropy(np.log(p), np.array([2])) == pytest.approx(0.5108256, abs=1e-7)


@pytest.mark.parametrize("big", [1e4, 1e6, 1e300])
def test_extremes_are_finite_and_match_torch(big):
    z = np.array([[big, -big, 0.0], [-big, big, 1.0]])
    labels = np.array([1, 1])
    ce = losses.cross_entropy(z, labels, "none")
    assert np.all(np.isfinite(ce))
    np.testing.assert_allclose(ce, F.cross_entropy(t(z), torch.as_tensor(labels), reduction="none").numpy(), **TOL)
    assert np.all(np.isfinite(losses.cross_entropy_grad(z, labels)))
    zz, y = np.array([big, -big, big, -big]), np.array([1.0, 0.0, 0.0, 1.0])
    bce = losses.binary_cross_entropy_with_logits(zz, y, "none")
    np.testing.assert_allclose(bce, [0, 0, big, big], rtol=1e-12)
    np.testing.assert_allclose(bce, F.binary_cross_entropy_with_logits(t(zz), t(y), reduction="none").numpy(), **TOL)
    # probabilities of exactly 0 and 1: right answers cost 0, certain wrong answers cost 100 (log clamp)
    p = np.array([1.0, 0.0, 0.0, 1.0])
    np.testing.assert_array_equal(losses.binary_cross_entropy(p, np.array([1.0, 0.0, 1.0, 0.0]), "none"),
                                  [0.0, 0.0, 100.0, 100.0])
    np.testing.assert_array_equal(losses.categorical_cross_entropy(np.array([[0.0, 1.0]]), np.array([0]), "none"),
                                  [100.0])


# -- bad input -----------------------------------------------------------------------------------------
def test_bad_input_raises_naming_argument():
    a = np.zeros(3)
    with pytest.raises(ValueError, match="reduction"):
        losses.mse(a, a, reduction="avg")
    with pytest.raises(ValueError, match="target"):
        losses.mse(a, np.zeros(4))
    with pytest.raises(ValueError, match="input"):
        losses.mae(np.array([np.nan, 0, 0]), a)
    with pytest.raises(ValueError, match="delta"):
        losses.huber(a, a, delta=0)
    with pytest.raises(ValueError, match="input"):
        losses.binary_cross_entropy(np.array([1.5, 0, 0]), a)
    with pytest.raises(ValueError, match="target"):
        losses.binary_cross_entropy_with_logits(a, np.array([2.0, 0, 0]))
    with pytest.raises(ValueError, match="target"):
        losses.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="target"):
        losses.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="input"):
        losses.cross_entropy(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match="sizes"):
        nn.MLP([3])
    with pytest.raises(ValueError, match="activation"):
        nn.MLP([3, 2], activation="swish")
    net = nn.MLP([3, 2])
    with pytest.raises(ValueError, match="X"):
        net.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="grad_out"):
        nn.MLP([3, 2]).backward(np.zeros((2, 2)))
    net.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="grad_out"):
        net.backward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="lr"):
        net.step(-0.1)
    with pytest.raises(ValueError, match="loss"):
        net.loss_and_backward(np.zeros((2, 3)), np.array([0, 1]), loss="hinge")
    with pytest.raises(ValueError, match="batch_size"):
        nn.train(net, np.zeros((2, 3)), np.array([0, 1]), batch_size=0, progress=False)
    with pytest.raises(ValueError, match="num_epochs"):
        nn.train(net, np.zeros((2, 3)), np.array([0, 1]), num_epochs=0, progress=False)
    with pytest.raises(ValueError, match="eps"):
        nn.numerical_gradient(lambda: 0.0, np.zeros(2), eps=0)
    with pytest.raises(ValueError, match="biases"):
        nn.collapse_linear([np.eye(2)], [])


# -- the NumPy MLP against torch -----------------------------------------------------------------
mlp_cases = st.tuples(st.lists(st.integers(1, 6), min_size=2, max_size=4),
                      st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu", "gelu"]),
                      st.integers(1, 8), st.integers(0, 10_000))


@FAST
@given(mlp_cases)
def test_mlp_forward_backward_match_autograd(case):
    sizes, act, n, seed = case
    rng = np.random.default_rng(seed)
    net = nn.MLP(sizes, act, seed=seed)
    X = rng.normal(size=(n, sizes[0]))
    tnet = net.to_torch()
    Xt = t(X, grad=True)
    out = tnet(Xt)
    np.testing.assert_allclose(net.forward(X), out.detach().numpy(), **TOL)
    G = rng.normal(size=out.shape)                      # an arbitrary upstream gradient
    (out * t(G)).sum().backward()
    grad_X = net.backward(G)
    np.testing.assert_allclose(grad_X, Xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    for mine, p in zip(net.grads, tnet.parameters()):
        np.testing.assert_allclose(mine, p.grad.numpy(), rtol=1e-9, atol=1e-12)


@settings(max_examples=10, deadline=None)
@given(mlp_cases, st.sampled_from(["cross_entropy", "bce_with_logits", "mse"]))
def test_gradient_check_agrees_with_autograd_and_finite_differences(case, loss):
    sizes, act, n, seed = case
    sizes = sizes[:-1] + [1 if loss == "bce_with_logits" else max(2, sizes[-1])]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    y = {"cross_entropy": rng.integers(0, sizes[-1], n), "bce_with_logits": rng.integers(0, 2, n),
         "mse": rng.normal(size=(n, sizes[-1]))}[loss]
    vs_torch, vs_fd = nn.gradient_check(nn.MLP(sizes, act, seed=seed), X, y, loss)
    assert max(vs_torch) < 1e-10
    assert max(vs_fd) < 1e-5


def test_mlp_matches_torch_sgd_step_for_step():
    """Same init, same mini-batches: our backward + step equals torch.optim.SGD for 3 epochs."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(50, 5)), rng.integers(0, 3, 50)
    net = nn.MLP([5, 8, 3], "tanh", seed=1)
    tnet = net.to_torch()
    opt = torch.optim.SGD(tnet.parameters(), lr=0.3)
    hist = nn.train(net, X, y, lr=0.3, num_epochs=3, batch_size=16, seed=7, progress=False)
    batch_rng = np.random.default_rng(7)
    for _ in range(3):
        for idx in nn.minibatches(len(X), 16, batch_rng):
            opt.zero_grad()
            F.cross_entropy(tnet(t(X[idx])), torch.as_tensor(y[idx])).backward()
            opt.step()
    for mine, p in zip(net.params, tnet.parameters()):
        np.testing.assert_allclose(mine, p.detach().numpy(), rtol=1e-9, atol=1e-12)
    final = F.cross_entropy(tnet(t(X)), torch.as_tensor(y)).item()
    assert hist["train_loss"][-1] == pytest.approx(final, rel=1e-9)


def test_training_learns_digits_subset():
    from dlbook import data
    X, y = data.load_digits()
    net = nn.MLP([64, 16, 10], "relu", seed=0)
    hist = nn.train(net, X[:400], y[:400], lr=0.2, num_epochs=15, batch_size=32, progress=False)
    assert hist["train_loss"][-1] < 0.5 * hist["train_loss"][0]
    assert hist["train_acc"][-1] > 0.9


def test_training_reports_divergence():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)) * 100, rng.normal(size=40)
    hist = nn.train(nn.MLP([3, 8, 1], "relu"), X, y, lr=10.0, num_epochs=50, loss="mse", progress=False)
    assert hist["diverged_at"] is not None


# -- gradient-check helpers -----------------------------------------------------------------
@FAST
@given(hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(-3, 3, width=64)))
def test_numerical_gradient_of_known_function(x):
    x0 = x.copy()
    f = lambda: float(np.sum(np.sin(x) * x ** 2))  # noqa: E731
    g = nn.numerical_gradient(f, x)
    np.testing.assert_array_equal(x, x0)               # restored after perturbing
    np.testing.assert_allclose(g, np.cos(x0) * x0 ** 2 + 2 * x0 * np.sin(x0), atol=1e-7)


def test_relative_error():
    a = np.array([1.0, 2.0])
    assert nn.relative_error(a, a) == 0.0
    assert nn.relative_error(a, -a) == pytest.approx(1.0)
    assert nn.relative_error(np.zeros(2), np.zeros(2)) == 0.0
    assert nn.relative_error(a, a * (1 + 1e-6)) == pytest.approx(5e-7, rel=1e-3)


def test_gradient_check_catches_a_wrong_backward():
    """The check can fail: break the derivative and the errors become large."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    net = nn.MLP([3, 4, 2], "tanh")
    net.df = lambda z: np.ones_like(z)                  # pretend tanh' = 1
    vs_torch, vs_fd = nn.gradient_check(net, X, y)
    assert max(vs_torch) > 1e-3 and max(vs_fd) > 1e-3


# -- non-linearity, universal approximation -------------------------------------------------
@FAST
@given(st.lists(st.integers(1, 5), min_size=2, max_size=5), st.integers(0, 1000))
def test_collapse_linear_equals_torch_stack(dims, seed):
    rng = np.random.default_rng(seed)
    Ws = [rng.normal(size=(o, i)) for i, o in zip(dims[:-1], dims[1:])]
    bs = [rng.normal(size=o) for o in dims[1:]]
    stack = torch.nn.Sequential(*[torch.nn.Linear(i, o).double() for i, o in zip(dims[:-1], dims[1:])])
    with torch.no_grad():
        for m, W, b in zip(stack, Ws, bs):
            m.weight.copy_(t(W))
            m.bias.copy_(t(b))
    X = rng.normal(size=(7, dims[0]))
    W, b = nn.collapse_linear(Ws, bs)
    np.testing.assert_allclose(X @ W.T + b, stack(t(X)).detach().numpy(), rtol=1e-9, atol=1e-10)
    # the linear activation MLP is the same function too
    net = nn.MLP(dims, "linear")
    net.params = [p for pair in zip(Ws, bs) for p in pair]
    np.testing.assert_allclose(net.forward(X), X @ W.T + b, rtol=1e-9, atol=1e-10)


def test_xor_best_linear_fit_is_one_half_everywhere():
    A = np.hstack([nn.XOR_X, np.ones((4, 1))])
    coef = np.linalg.lstsq(A, nn.XOR_Y.astype(float), rcond=None)[0]
    np.testing.assert_allclose(A @ coef, 0.5, atol=1e-12)


def test_xor_mlp_learns_and_linear_does_not():
    lin = nn.MLP([2, 1], seed=0)
    nn.train(lin, nn.XOR_X, nn.XOR_Y, lr=0.5, num_epochs=2000, batch_size=4, loss="bce_with_logits",
             progress=False)
    assert nn.accuracy(lin, nn.XOR_X, nn.XOR_Y) <= 0.75
    deep = nn.MLP([2, 4, 1], "tanh", seed=0)
    nn.train(deep, nn.XOR_X, nn.XOR_Y, lr=0.5, num_epochs=2000, batch_size=4, loss="bce_with_logits",
             progress=False)
    assert nn.accuracy(deep, nn.XOR_X, nn.XOR_Y) == 1.0


# -- the code the notebook builds inline --------------------------------------------------------
def test_notebook_forward_example_and_inline_backward():
    # notebook: h = relu(x @ W + b) with the notes' numbers, W stored (d_in, d_out) as the notes write it
    x, W, b = np.array([1.0, 2.0]), np.array([[0.5, 0.3], [0.2, 0.8]]), np.array([0.1, 0.2])
    z = x @ W + b
    np.testing.assert_allclose(z, [1.0, 2.1], atol=1e-12)
    net = nn.MLP([2, 2, 1], "relu")
    net.params[0], net.params[1] = W.T.copy(), b.copy()   # dlbook stores W as (d_out, d_in)
    net.params[2], net.params[3] = np.array([[1.0, -1.0]]), np.array([0.0])
    np.testing.assert_allclose(net.forward(x[None])[0, 0], 1.0 - 2.1, atol=1e-12)

    # notebook's inline backward for a 2-layer MLP with MSE cost (same lines as the chapter)
    def inline_backward(X, y, W1, b1, W2, b2):
        z1 = X @ W1.T + b1                 # (N, H)
        h1 = np.maximum(z1, 0)             # ReLU
        y_hat = h1 @ W2.T + b2             # (N, 1)
        g = 2 * (y_hat - y) / y.size       # ∂cost/∂y_hat for the mean squared error
        dW2, db2 = g.T @ h1, g.sum(0)
        g = (g @ W2) * (z1 > 0)            # back through W2 and the ReLU
        dW1, db1 = g.T @ X, g.sum(0)
        return dW1, db1, dW2, db2

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(9, 4)), rng.normal(size=(9, 1))
    net = nn.MLP([4, 5, 1], "relu", seed=3)
    net.loss_and_backward(X, y, "mse")
    for a, b_ in zip(inline_backward(X, y, *net.params), net.grads):
        np.testing.assert_allclose(a, b_, rtol=1e-12, atol=1e-14)


# -- figures: fast and robust at the extremes -------------------------------------------------
@pytest.mark.parametrize("delta,n_out", [(0.01, 0), (0.01, 20), (50.0, 20), (1.0, 5)])
def test_draw_huber_extremes(delta, n_out):
    fig = widgets.interactive(nn.draw_huber, clear=False, delta=widgets.LogSlider(0.01, 50, value=delta),
                              n_outliers=widgets.IntSlider(0, 20, value=n_out))
    assert len(fig.render()) > 1000 and len(fig.render(delta=1.0)) > 1000


@pytest.mark.parametrize("act", nn.ACTIVATION_NAMES)
def test_draw_activation_explorer(act):
    for x0 in (-6.0, 0.0, 6.0):
        fig = widgets.interactive(nn.draw_activation_explorer, clear=False,
                                  activation=widgets.Dropdown(nn.ACTIVATION_NAMES, value=act),
                                  x0=widgets.FloatSlider(-6, 6, value=x0))
        assert len(fig.render()) > 1000


def test_static_figures_build():
    from matplotlib.figure import Figure
    net = nn.MLP([2, 3, 1], "tanh")
    hist = nn.train(nn.MLP([2, 3, 2]), nn.XOR_X, nn.XOR_Y, num_epochs=2, X_val=nn.XOR_X, y_val=nn.XOR_Y,
                    progress=False)
    for fig in (nn.plot_activations(), nn.plot_softmax(), nn.plot_bce(),
                nn.plot_decision_boundaries([net, nn.MLP([2, 1])], ["a", "b"], nn.XOR_X, nn.XOR_Y),
                nn.plot_history(hist, "t")):
        assert isinstance(fig, Figure) and fig.axes


@pytest.mark.parametrize("name", ["huber", "activation_explorer"])
def test_persistent_figures_match_fresh_ones(name, persistent_frames_match):
    """clear=False redraws (as in the chapter) look exactly like frames drawn from scratch."""
    make = {
        "huber": lambda clear: widgets.interactive(
            nn.draw_huber, clear=clear, delta=widgets.LogSlider(0.01, 50, value=1.0, static=4),
            n_outliers=widgets.IntSlider(0, 20, value=5, static=[0, 5, 20])),
        "activation_explorer": lambda clear: widgets.interactive(
            nn.draw_activation_explorer, clear=clear,
            activation=widgets.Dropdown(nn.ACTIVATION_NAMES), x0=widgets.FloatSlider(-6, 6, 1.0, static=3)),
    }
    persistent_frames_match(make[name])


# -- dead ReLU units, zero-centred inputs ---------------------------------------------------------
def test_dead_units_get_exactly_zero_gradient():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, 30)
    net = nn.MLP([4, 6, 5, 3], "relu", seed=0)
    net.params[1][[1, 4]] = -100.0                       # units 1 and 4 of layer 0: z < 0 on all of X
    net.params[3][2] = -100.0                             # unit 2 of layer 1
    np.testing.assert_array_equal(nn.dead_units(net, X), [1, 4])
    np.testing.assert_array_equal(nn.dead_units(net, X, layer=1), [2])
    net.loss_and_backward(X, y)
    assert not net.grads[0][[1, 4]].any() and not net.grads[1][[1, 4]].any()   # incoming weights, biases
    assert not net.grads[2][:, [1, 4]].any()                                   # outgoing weights
    ref = nn.autograd_grads(net, X, y)
    np.testing.assert_array_equal(ref[0][[1, 4]], 0.0)
    with pytest.raises(ValueError, match="layer"):
        nn.dead_units(net, X, layer=2)                    # the output layer has no activation


def test_gd_steps_to_optimum():
    rng = np.random.default_rng(0)
    # centred, uncorrelated, equal-variance columns: Hessian ∝ I, one step of size 1/λ_max is exact
    Q = np.linalg.qr(np.hstack([np.ones((40, 1)), rng.normal(size=(40, 3))]))[0]
    X = Q[:, 1:] * np.sqrt(40)                           # XᵀX/n = I and Xᵀ1 = 0
    steps, cond = nn.gd_steps_to_optimum(X, rng.normal(size=40))
    assert steps == 1 and cond == pytest.approx(1.0, abs=1e-9)
    # the condition number is that of the Hessian 2AᵀA/n, A = [X, 1]
    X = rng.uniform(0, 1, size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=50)
    A = np.hstack([X, np.ones((50, 1))])
    steps, cond = nn.gd_steps_to_optimum(X, y, tol=1e-8)
    assert cond == pytest.approx(np.linalg.cond(A.T @ A), rel=1e-8)
    # GD at lr = 1/λ_max shrinks the excess cost at least by (1 − 1/κ)² per step: steps ≤ the bound
    assert 1 < steps <= np.ceil(np.log(1e-8) / (2 * np.log(1 - 1 / cond)))
    assert nn.gd_steps_to_optimum(X - X.mean(0), y, tol=1e-8)[0] < steps       # centring helps
    with pytest.raises(ValueError, match="tol"):
        nn.gd_steps_to_optimum(X, y, tol=0)
    with pytest.raises(ValueError, match="X"):
        nn.gd_steps_to_optimum(np.ones((5, 1)), np.arange(5.0))             # column equals the bias
