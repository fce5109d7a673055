"""dlbook.optim against torch.optim (float64, step for step) and the gradient-noise formulas."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from dlbook import optim

TORCH = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
         "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def _problem(seed, shapes):
    """A random least-squares-plus-quartic loss over several parameter tensors."""
    g = torch.Generator().manual_seed(seed)
    targets = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
    scales = [torch.rand(s, generator=g, dtype=torch.float64) * 3 + 0.1 for s in shapes]

    def loss(params):
        return sum((c * (p - t) ** 2).sum() + 0.1 * ((p - t) ** 4).sum()
                   for p, t, c in zip(params, targets, scales))
    return loss


def _run_both(name, kwargs, seed=0, shapes=((3, 4), (5,)), num_steps=120):
    loss = _problem(seed, shapes)
    g = torch.Generator().manual_seed(seed + 1)
    t_params = [torch.randn(s, generator=g, dtype=torch.float64, requires_grad=True) for s in shapes]
    n_params = [p.detach().numpy().copy() for p in t_params]
    t_opt = TORCH[name](t_params, foreach=False, **kwargs)
    kw = dict(kwargs)
    n_opt = optim.OPTIMIZERS[name](n_params, **kw)
    worst = 0.0
    for _ in range(num_steps):
        # one gradient, at torch's parameters, fed to both: any drift comes from the update
        # rule itself (feeding each its own gradient lets chaotic oscillation near the minimum
        # amplify 1e-16 rounding differences into visible ones)
        t_opt.zero_grad()
        loss(t_params).backward()
        n_opt.step([p.grad.numpy().copy() for p in t_params])
        t_opt.step()
        for p, q in zip(n_params, t_params):
            scale = max(1.0, float(q.detach().abs().max()))
            worst = max(worst, float(np.abs(p - q.detach().numpy()).max()) / scale)
    return worst


CASES = [
    ("sgd", dict(lr=0.01)),
    ("sgd", dict(lr=0.01, weight_decay=0.1)),
    ("sgd", dict(lr=0.01, momentum=0.9)),
    ("sgd", dict(lr=0.01, momentum=0.9, dampening=0.5, weight_decay=0.05)),
    ("sgd", dict(lr=0.01, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("adagrad", dict(lr=0.1)),
    ("adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5,
                     eps=1e-6)),
    ("rmsprop", dict(lr=0.01)),
    ("rmsprop", dict(lr=0.01, alpha=0.9, eps=1e-3, weight_decay=0.1)),
    ("rmsprop", dict(lr=0.005, momentum=0.9, centered=True, weight_decay=0.01)),
    ("adam", dict(lr=0.01)),
    ("adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-4, weight_decay=0.1)),
    ("adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("adamw", dict(lr=0.01)),
    ("adamw", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.3, amsgrad=True)),
]


@pytest.mark.parametrize("name,kwargs", CASES)
def test_matches_torch_step_for_step(name, kwargs):
    assert _run_both(name, kwargs) < 1e-10


@settings(max_examples=15, deadline=None)
@given(name=st.sampled_from(sorted(TORCH)), seed=st.integers(0, 10_000),
       lr=st.floats(1e-3, 3e-2), wd=st.floats(0.0, 0.5), mom=st.floats(0.0, 0.95),
       shapes=st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1, max_size=3))
def test_matches_torch_random(name, seed, lr, wd, mom, shapes):
    kwargs = {"lr": lr, "weight_decay": wd}
    if name in ("sgd", "rmsprop"):
        kwargs["momentum"] = mom
    if name in ("adam", "adamw"):
        kwargs["betas"] = (mom, 0.999)
    assert _run_both(name, kwargs, seed=seed, shapes=shapes, num_steps=100) < 1e-9


def test_adam_l2_differs_from_adamw():
    """The two weight decays are different algorithms (otherwise the tests above prove little)."""
    p1, p2 = np.ones(3), np.ones(3)
    a, b = optim.Adam([p1], lr=0.1, weight_decay=0.5), optim.AdamW([p2], lr=0.1, weight_decay=0.5)
    for _ in range(5):
        a.step([np.array([1.0, -2.0, 0.1])])
        b.step([np.array([1.0, -2.0, 0.1])])
    assert not np.allclose(p1, p2)


def test_first_adam_step_has_size_lr():
    """Bias correction: the first Adam step moves each coordinate by lr (up to eps), whatever |g|."""
    p = np.zeros(3)
    optim.Adam([p], lr=0.01).step([np.array([1e-3, 5.0, -200.0])])
    assert np.allclose(np.abs(p), 0.01, rtol=1e-4)


def test_notebook_inline_momentum_is_dlbook():
    """The notebook's inline heavy-ball loop (velocity = μ·velocity + g; p −= lr·velocity)."""
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 4))
    A = A @ A.T + np.eye(4)
    p_inline, p_lib = np.ones(4), np.ones(4)
    velocity = np.zeros(4)
    opt = optim.SGD([p_lib], lr=0.02, momentum=0.9)
    for _ in range(50):
        velocity = 0.9 * velocity + A @ p_inline
        p_inline = p_inline - 0.02 * velocity
        opt.step([A @ p_lib])
    assert np.allclose(p_inline, p_lib, rtol=1e-12, atol=1e-14)


def test_notebook_inline_adam_is_dlbook():
    """The notebook's inline Adam (bias-corrected m̂, v̂) against the class."""
    rng = np.random.default_rng(4)
    grads = rng.standard_normal((30, 5))
    p_inline, p_lib = np.zeros(5), np.zeros(5)
    m, v = np.zeros(5), np.zeros(5)
    opt = optim.Adam([p_lib], lr=0.01)
    for t, g in enumerate(grads, start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g ** 2
        p_inline = p_inline - 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        opt.step([g])
    assert np.allclose(p_inline, p_lib, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("cls,kwargs,arg", [
    (optim.SGD, {"lr": -1.0}, "lr"),
    (optim.SGD, {"lr": 0.1, "momentum": -0.5}, "momentum"),
    (optim.SGD, {"lr": 0.1, "weight_decay": float("nan")}, "weight_decay"),
    (optim.SGD, {"lr": 0.1, "nesterov": True}, "nesterov"),
    (optim.Adagrad, {"lr": 0.1, "eps": -1.0}, "eps"),
    (optim.Adagrad, {"lr": 0.1, "initial_accumulator_value": -1.0}, "initial_accumulator_value"),
    (optim.RMSprop, {"lr": 0.1, "alpha": 1.5}, "alpha"),
    (optim.Adam, {"lr": 0.1, "betas": (1.0, 0.999)}, r"betas\[0\]"),
    (optim.AdamW, {"lr": 0.1, "betas": (0.9, -0.1)}, r"betas\[1\]"),
])
def test_bad_hyperparameters_raise(cls, kwargs, arg):
    with pytest.raises(ValueError, match=arg):
        cls([np.zeros(2)], **kwargs)


def test_bad_params_and_grads_raise():
    with pytest.raises(ValueError, match="params"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="params"):
        optim.SGD([np.zeros(2, dtype=int)], lr=0.1)
    opt = optim.SGD([np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="grads"):
        opt.step([np.zeros(3)])
    with pytest.raises(ValueError, match="grads"):
        opt.step([np.zeros(2), np.zeros(2)])
    with pytest.raises(ValueError, match="name"):
        optim.make("lion", [np.zeros(2)], 0.1)


# -- softmax regression gradients and gradient noise -----------------------------------------
@settings(max_examples=20, deadline=None)
@given(N=st.integers(1, 20), d=st.integers(1, 6), C=st.integers(2, 5), seed=st.integers(0, 999))
def test_softmax_regression_grads_match_autograd(N, d, C, seed):
    rng = np.random.default_rng(seed)
    X, W, b = rng.standard_normal((N, d)), rng.standard_normal((d, C)), rng.standard_normal(C)
    y = rng.integers(0, C, N)
    tW = torch.tensor(W, requires_grad=True)
    tb = torch.tensor(b, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(torch.tensor(X) @ tW + tb, torch.tensor(y))
    loss.backward()
    assert np.isclose(optim.softmax_regression_loss(W, b, X, y), loss.item(), rtol=1e-12)
    dW, db = optim.softmax_regression_grads(W, b, X, y)
    assert np.allclose(dW, tW.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert np.allclose(db, tb.grad.numpy(), rtol=1e-10, atol=1e-12)
    G = optim.softmax_regression_grads(W, b, X, y, per_example=True)
    assert G.shape == (N, d * C + C)
    assert np.allclose(G.mean(axis=0), np.concatenate([dW.ravel(), db]), atol=1e-12)


def test_gradient_noise_formula_matches_exhaustive_enumeration():
    """Exact E‖g_B − g‖² over ALL subsets of size B equals the finite-population formula."""
    import itertools
    rng = np.random.default_rng(1)
    G = rng.standard_normal((7, 3))
    g = G.mean(axis=0)
    for B in range(1, 8):
        sq = [((G[list(c)].mean(axis=0) - g) ** 2).sum() for c in itertools.combinations(range(7), B)]
        assert np.isclose(math.sqrt(np.mean(sq)), optim.gradient_noise(G, B), rtol=1e-12)


def test_minibatch_gradients_sample_without_replacement():
    G = np.arange(10.0)[:, None]
    means = optim.minibatch_gradients(G, 10, num_batches=3)
    assert np.allclose(means, 4.5)          # a batch of all N rows is the full mean
    with pytest.raises(ValueError, match="batch_size"):
        optim.minibatch_gradients(G, 11)
    with pytest.raises(ValueError, match="batch_size"):
        optim.gradient_noise(G, 0)


def test_notebook_inline_noise_formula_is_dlbook():
    """The notebook's three-line formula √(tr Σ / B · (N−B)/(N−1)) equals optim.gradient_noise."""
    G = np.random.default_rng(5).standard_normal((50, 7)) * np.arange(1, 8)
    g = G.mean(axis=0)
    N, trace_sigma = len(G), ((G - g) ** 2).sum(axis=1).mean()
    formula = lambda B: np.sqrt(trace_sigma / B * (N - B) / (N - 1))
    assert all(np.isclose(formula(B), optim.gradient_noise(G, B), rtol=1e-13) for B in (1, 7, 50))


def test_gradient_noise_measurement_follows_formula():
    G = np.random.default_rng(6).standard_normal((400, 5))
    noise = optim.GradientNoise(G, [1, 16, 256], num_batches=2000)
    assert np.allclose(noise.rms, noise.theory, rtol=0.08)


def test_steps_to_target_equals_a_plain_sgd_loop():
    from dlbook import data
    X, y = data.load_digits()
    X, y = X[:300], y[:300]
    steps, lr = optim.steps_to_target(X, y, 32, [0.5], target=1.0, max_steps=500, seed=3)
    W, b = np.zeros((64, 10)), np.zeros(10)
    opt = optim.SGD([W, b], lr=0.5)
    rng = np.random.default_rng(3)
    order, pos = rng.permutation(300), 0
    for t in range(1, 501):
        if pos + 32 > 300:
            order, pos = rng.permutation(300), 0
        i = order[pos:pos + 32]
        pos += 32
        opt.step(optim.softmax_regression_grads(W, b, X[i], y[i]))
        if optim.softmax_regression_loss(W, b, X, y) <= 1.0:
            break
    assert (steps, lr) == (t, 0.5)
    with pytest.raises(ValueError, match="batch_size"):
        optim.steps_to_target(X, y, 0, [0.5], 1.0)
    with pytest.raises(ValueError, match="lrs"):
        optim.steps_to_target(X, y, 8, [-0.5], 1.0)


# -- figures at the extremes of their controls --------------------------------------------------
def test_gradient_noise_figure_extremes():
    from functools import partial
    from dlbook import widgets
    G = np.random.default_rng(7).standard_normal((100, 6)) + 0.3
    noise = optim.GradientNoise(G, [1, 10, 100], num_batches=50)
    fig = widgets.interactive(partial(optim.draw_gradient_noise, noise=noise), clear=False,
                              batch_size=widgets.IntSlider(1, 100, 10))
    for B in (1, 2, 99, 100):
        assert fig.render(batch_size=B)[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="noise"):
        optim.draw_gradient_noise(fig.figure, 3, noise=None)


# -- hyperparameter search ----------------------------------------------------------------------
from dlbook import hpsearch  # noqa: E402


@settings(max_examples=10, deadline=None)
@given(n=st.integers(2, 15), ell=st.floats(0.1, 1.0), seed=st.integers(0, 999))
def test_gp_posterior_and_likelihood_match_sklearn(n, ell, seed):
    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF
    rng = np.random.default_rng(seed)
    Z, Zq, f = rng.random((n, 2)), rng.random((20, 2)), rng.standard_normal(n)
    mu, sd = hpsearch.gp_posterior(Z, f, Zq, length_scale=ell, noise=1e-3)
    gpr = GaussianProcessRegressor(RBF(ell), alpha=1e-3, optimizer=None).fit(Z, f)
    mu_sk, sd_sk = gpr.predict(Zq, return_std=True)
    assert np.allclose(mu, mu_sk, atol=1e-8) and np.allclose(sd, sd_sk, atol=1e-6)
    assert np.isclose(hpsearch.log_marginal_likelihood(Z, f, ell, 1e-3),
                      gpr.log_marginal_likelihood_value_, rtol=1e-8)


def test_expected_improvement_matches_monte_carlo():
    rng = np.random.default_rng(0)
    for mu, sigma, best in ((0.0, 1.0, 0.5), (1.0, 0.3, 0.8), (-2.0, 2.0, -1.0)):
        f = rng.normal(mu, sigma, 400_000)
        mc = np.maximum(best - f, 0).mean()
        assert abs(hpsearch.expected_improvement(mu, sigma, best) - mc) < 0.01 * max(mc, 0.05)
    assert hpsearch.expected_improvement(1.0, 0.0, 3.0) == 2.0
    with pytest.raises(ValueError, match="sigma"):
        hpsearch.expected_improvement(0.0, -1.0, 0.0)


def test_search_points_and_bad_input():
    bounds = [(-2.0, 1.0), (0.0, 5.0)]
    G = hpsearch.grid_points(bounds, 16)
    assert G.shape == (16, 2) and len(np.unique(G[:, 0])) == 4
    for P in (hpsearch.random_points(bounds, 30, 1), hpsearch.shifted_grid_points(bounds, 16, 2)):
        assert np.all((P >= [-2, 0]) & (P <= [1, 5]))
    assert len(np.unique(hpsearch.random_points(bounds, 16, 0)[:, 0])) == 16
    with pytest.raises(ValueError, match="bounds"):
        hpsearch.grid_points([(1.0, 0.0)], 4)
    with pytest.raises(ValueError, match="n_trials"):
        hpsearch.random_points(bounds, 0)
    with pytest.raises(ValueError, match="length_scale"):
        hpsearch.rbf_kernel(np.zeros((1, 2)), np.zeros((1, 2)), 0.0)


def test_bayes_opt_beats_random_on_a_smooth_bowl():
    f = lambda x, y: (x - 0.3) ** 2 + (y + 0.2) ** 2
    bounds = [(-1.0, 1.0), (-1.0, 1.0)]
    bo = [hpsearch.bayes_search(f, bounds, 15, rng=s)[1].min() for s in range(4)]
    rand = [f(*hpsearch.random_points(bounds, 15, s).T).min() for s in range(4)]
    assert np.mean(bo) < 0.5 * np.mean(rand)
    many = hpsearch.bayes_search_many(lambda x, y: f(x, y), bounds, 6, [0, 1])
    assert many.shape == (2, 6)


def test_digits_objective_matches_torch_full_batch_sgd():
    from dlbook import data
    X, y = data.load_digits()
    Xtr, ytr, Xva, yva = X[:200, :20], y[:200], X[200:300, :20], y[200:300]
    obj = hpsearch.DigitsObjective(Xtr, ytr, Xva, yva, num_steps=12)
    log_lrs, wds = np.array([-1.0, 0.0, 0.5]), np.array([0.0, 1e-2, 1e-1])
    ours = obj(log_lrs, wds)
    for log_lr, wd, value in zip(log_lrs, wds, ours):
        W = torch.zeros(20, 10, dtype=torch.float64, requires_grad=True)
        b = torch.zeros(10, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.SGD([{"params": [W], "weight_decay": wd}, {"params": [b]}], lr=10 ** log_lr)
        for _ in range(12):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(torch.tensor(Xtr) @ W + b, torch.tensor(ytr)).backward()
            opt.step()
        ref = torch.nn.functional.cross_entropy(torch.tensor(Xva) @ W + b, torch.tensor(yva)).item()
        assert np.isclose(value, ref, rtol=1e-10)
    assert obj(4.0, 0.0) == pytest.approx(np.log(10))        # diverged: the uniform guess, not NaN
    with pytest.raises(ValueError, match="weight_decay"):
        obj(0.0, -1.0)


def test_exercise_nesterov_lookahead_equals_torch_form():
    """Exercise 2: Sutskever's look-ahead NAG, in the variables φ = θ + μv, is torch's Nesterov."""
    rng = np.random.default_rng(8)
    A = rng.standard_normal((4, 4))
    A = A @ A.T / 4 + 0.2 * np.eye(4)
    theta, v = np.ones(4), np.zeros(4)
    p = np.ones(4)
    opt = optim.SGD([p], lr=0.05, momentum=0.8, nesterov=True)
    for _ in range(60):
        v = 0.8 * v - 0.05 * (A @ (theta + 0.8 * v))
        theta = theta + v
        opt.step([A @ p])
        assert np.allclose(theta + 0.8 * v, p, rtol=1e-10, atol=1e-12)


def test_persistent_figure_matches_fresh_one(persistent_frames_match):
    """clear=False redraws (as in the chapter) look exactly like frames drawn from scratch."""
    from functools import partial

    from dlbook import widgets
    G = np.random.default_rng(7).standard_normal((100, 6)) + 0.3
    noise = optim.GradientNoise(G, [1, 10, 100], num_batches=50)
    persistent_frames_match(lambda clear: widgets.interactive(
        partial(optim.draw_gradient_noise, noise=noise), clear=clear,
        batch_size=widgets.IntSlider(1, 100, 10, static=[1, 2, 10, 99, 100])))


# -- the Hessian of softmax regression ---------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(N=st.integers(1, 15), d=st.integers(1, 5), C=st.integers(2, 5), seed=st.integers(0, 999))
def test_softmax_regression_hessian_matches_autograd(N, d, C, seed):
    rng = np.random.default_rng(seed)
    X, W, b = rng.standard_normal((N, d)), rng.standard_normal((d, C)), rng.standard_normal(C)
    y = rng.integers(0, C, N)

    def loss(theta):                                   # flattened [W.ravel(), b], as in the docstring
        return torch.nn.functional.cross_entropy(torch.tensor(X) @ theta[:d * C].reshape(d, C)
                                                 + theta[d * C:], torch.tensor(y))

    H_torch = torch.autograd.functional.hessian(loss, torch.tensor(np.concatenate([W.ravel(), b])))
    H = optim.softmax_regression_hessian(W, b, X)
    assert H.shape == (d * C + C, d * C + C)
    assert np.allclose(H, H_torch.numpy(), rtol=1e-10, atol=1e-12)


def test_softmax_regression_hessian_at_zero_is_the_closed_form():
    """At W = 0 (uniform p) the top eigenvalue is 0.1·λ_max(X̃ᵀX̃/N) for 10 classes (the chapter's formula)."""
    X = np.random.default_rng(1).random((40, 6))
    H = optim.softmax_regression_hessian(np.zeros((6, 10)), np.zeros(10), X)
    Xa = np.column_stack([X, np.ones(40)])
    assert np.isclose(np.linalg.eigvalsh(H)[-1], 0.1 * np.linalg.eigvalsh(Xa.T @ Xa / 40)[-1], rtol=1e-10)
    with pytest.raises(ValueError, match="X must be"):
        optim.softmax_regression_hessian(np.zeros((5, 10)), np.zeros(10), X)
