"""Tests of dlbook.regularize against PyTorch / scikit-learn references, float64."""
import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from dlbook import regularize as R

torch.set_num_threads(1)
finite = st.floats(-5, 5, allow_nan=False, allow_infinity=False)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)


# -- penalties -------------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(w=hnp.arrays(np.float64, shapes, elements=finite), lam=st.floats(0, 2), lr=st.floats(1e-3, 1))
def test_l2_gradient_is_torch_weight_decay(w, lam, lr):
    """An SGD step on loss + lam·Σw² (autograd) == torch SGD(weight_decay=2·lam) == sgd_step."""
    rng = np.random.default_rng(0)
    target = rng.normal(size=w.shape)
    # reference 1: autograd on the penalized loss
    wt = torch.tensor(w, requires_grad=True)
    loss = 0.5 * ((wt - torch.tensor(target)) ** 2).sum() + lam * (wt ** 2).sum()
    loss.backward()
    by_autograd = (wt - lr * wt.grad).detach().numpy()
    # reference 2: torch's weight_decay on the unpenalized loss
    p = torch.nn.Parameter(torch.tensor(w))
    opt = torch.optim.SGD([p], lr=lr, weight_decay=2 * lam)
    (0.5 * ((p - torch.tensor(target)) ** 2).sum()).backward()
    opt.step()
    mine = R.sgd_step(w, w - target, lr, l2=lam)
    np.testing.assert_allclose(mine, by_autograd, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mine, p.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert R.l2_penalty(w, lam) == pytest.approx(lam * float((wt.detach() ** 2).sum()), rel=1e-12, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(w=hnp.arrays(np.float64, shapes, elements=finite.filter(lambda v: abs(v) > 1e-6)),
       lam=st.floats(0, 2))
def test_l1_subgradient_matches_autograd(w, lam):
    wt = torch.tensor(w, requires_grad=True)
    (lam * wt.abs().sum()).backward()
    np.testing.assert_allclose(R.sgd_step(w, np.zeros_like(w), 1.0, l1=lam), w - wt.grad.numpy(),
                               rtol=1e-12, atol=1e-12)
    assert R.l1_penalty(w, lam) == pytest.approx(lam * np.abs(w).sum(), rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(w=hnp.arrays(np.float64, shapes, elements=finite), t=st.floats(0, 3))
def test_soft_threshold_is_softshrink(w, t):
    ref = torch.nn.functional.softshrink(torch.tensor(w), t).numpy()
    out = R.soft_threshold(w, t)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    assert np.all(out[np.abs(w) <= t] == 0)          # exact zeros: L1's sparsity


def test_penalty_bad_input():
    with pytest.raises(ValueError, match="lam"):
        R.l2_penalty([1.0], -1)
    with pytest.raises(ValueError, match="w"):
        R.l1_penalty([np.nan], 1)
    with pytest.raises(ValueError, match="grad"):
        R.sgd_step(np.ones(3), np.ones(2), 0.1)
    with pytest.raises(ValueError, match="lr"):
        R.sgd_step(np.ones(3), np.ones(3), -0.1)
    with pytest.raises(ValueError, match="t"):
        R.soft_threshold(np.ones(3), -1)


# -- dropout ---------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(shape=shapes, p=st.floats(0.01, 0.95), seed=st.integers(0, 2**31 - 1))
def test_dropout_same_mask_as_torch_given_same_uniforms(shape, p, seed):
    """torch (CPU, float64) keeps x where its uniform draw u < 1-p: feed ours the same u."""
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) + 3.0
    torch.manual_seed(seed)
    ref = torch.nn.functional.dropout(x, p, training=True)
    torch.manual_seed(seed)
    u = torch.rand(shape, dtype=torch.float64).numpy()
    out, mask = R.dropout(x.numpy(), p, u=u)
    np.testing.assert_allclose(out, ref.numpy(), rtol=1e-12, atol=0)
    assert np.array_equal(mask, ref.numpy() != 0)


@settings(max_examples=25, deadline=None)
@given(x=hnp.arrays(np.float64, shapes, elements=finite), p=st.floats(0, 1))
def test_dropout_eval_is_identity_like_torch_module(x, p):
    layer = torch.nn.Dropout(p).eval()
    out, mask = R.dropout(x, p, training=False)
    np.testing.assert_array_equal(out, layer(torch.tensor(x)).numpy())
    assert mask.all()


def test_dropout_p1_drops_everything_like_torch():
    x = np.arange(1.0, 7.0).reshape(2, 3)
    out, _ = R.dropout(x, 1.0, rng=0)
    np.testing.assert_array_equal(out, torch.nn.functional.dropout(torch.tensor(x), 1.0).numpy())


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_preserves_expectation_within_binomial_error(p):
    """Each output is x·B/(1-p), B ~ Bernoulli(1-p): mean x, SE |x|·sqrt(p/((1-p)n)). Allow 5 SE."""
    n = 20000
    x = np.linspace(0.5, 3.0, 6)
    out, mask = R.dropout(np.tile(x, (n, 1)), p, rng=123)
    se = x * math.sqrt(p / ((1 - p) * n))
    assert np.all(np.abs(out.mean(0) - x) < 5 * se)
    keep_se = math.sqrt(p * (1 - p) / (n * len(x)))   # binomial SE of the kept fraction
    assert abs(mask.mean() - (1 - p)) < 5 * keep_se
    # the same check must FAIL for an estimator that forgets the 1/(1-p) rescaling
    assert np.any(np.abs((out * (1 - p)).mean(0) - x) > 5 * se)


@settings(max_examples=25, deadline=None)
@given(shape=shapes, p=st.floats(0.01, 0.95), seed=st.integers(0, 2**31 - 1))
def test_dropout_backward_matches_autograd(shape, p, seed):
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2),
                    requires_grad=True)
    g = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(seed)
    y = torch.nn.functional.dropout(x, p, training=True)
    y.backward(g)
    mask = y.detach().numpy() != 0
    np.testing.assert_allclose(R.dropout_backward(g.numpy(), mask, p), x.grad.numpy(), rtol=1e-12)


def test_classic_and_inverted_dropout_agree_in_expectation():
    """Classic (keep prob, scale by keep at test) and inverted (drop prob) give train/test ratio 1."""
    keep, n = 0.8, 40000
    x = np.full((n, 4), 2.0)
    u = np.random.default_rng(5).uniform(size=x.shape)
    classic_train = R.classic_dropout(x, keep, u=u).mean()
    classic_test = R.classic_dropout(x, keep, training=False).mean()
    inverted_train = R.dropout(x, 1 - keep, u=u)[0].mean()
    se = 2.0 * math.sqrt(keep * (1 - keep) / x.size)
    assert abs(classic_train - classic_test) < 5 * se
    assert abs(inverted_train - 2.0) < 5 * se / keep
    # same uniforms -> same kept units in both conventions
    assert np.array_equal(R.classic_dropout(x, keep, u=u) != 0, R.dropout(x, 1 - keep, u=u)[1])


def test_dropout_bad_input():
    with pytest.raises(ValueError, match="p"):
        R.dropout(np.ones(3), 1.5)
    with pytest.raises(ValueError, match="u"):
        R.dropout(np.ones(3), 0.5, u=np.ones(2) * 0.1)
    with pytest.raises(ValueError, match="u"):
        R.dropout_mask(np.array([0.2, 1.0]), 0.5)
    with pytest.raises(ValueError, match="x"):
        R.dropout(np.array([np.nan]), 0.5)
    with pytest.raises(ValueError, match="mask"):
        R.dropout_backward(np.ones(3), np.ones(2, bool), 0.5)
    with pytest.raises(ValueError, match="keep"):
        R.classic_dropout(np.ones(3), -0.1)


# -- early stopping --------------------------------------------------------------------------
def _reference_stop(losses, patience, min_delta):
    """Keras EarlyStopping's rule written independently: counter of epochs since the best."""
    best_i = 0
    for i in range(1, len(losses)):
        if losses[i] < losses[best_i] - min_delta:
            best_i = i
        elif i - best_i >= patience:
            return i, best_i
    return len(losses) - 1, best_i


@settings(max_examples=60, deadline=None)
@given(losses=st.lists(st.floats(0, 10), min_size=1, max_size=40), patience=st.integers(1, 8),
       min_delta=st.sampled_from([0.0, 0.01, 0.5]))
def test_early_stopping_matches_reference_rule(losses, patience, min_delta):
    assert R.early_stopping(losses, patience, min_delta) == _reference_stop(losses, patience, min_delta)


def test_early_stopping_matches_sklearn_mlp_stopping():
    """sklearn's MLP stops after n_iter_no_change + 1 epochs without a tol-improvement."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from dlbook import data
    X, y = data.load_digits()
    for n_iter_no_change, tol in [(3, 1e-2), (5, 1e-3)]:
        clf = MLPClassifier(hidden_layer_sizes=(16,), solver="sgd", learning_rate_init=0.05,
                            n_iter_no_change=n_iter_no_change, tol=tol, max_iter=300, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X[:400], y[:400])
        curve = clf.loss_curve_
        stop, _ = R.early_stopping(curve, n_iter_no_change + 1, min_delta=tol)
        assert stop == len(curve) - 1 < 299


def test_early_stopping_bad_input():
    with pytest.raises(ValueError, match="patience"):
        R.early_stopping([1, 2, 3], 0)
    with pytest.raises(ValueError, match="val_losses"):
        R.early_stopping([], 2)
    with pytest.raises(ValueError, match="min_delta"):
        R.early_stopping([1.0, 0.5], 2, min_delta=-1)


# -- class imbalance -------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(y=st.lists(st.integers(0, 3), min_size=4, max_size=60).filter(lambda v: len(set(v)) == 4))
def test_class_weights_match_sklearn(y):
    from sklearn.utils.class_weight import compute_class_weight
    y = np.array(y)
    ref = compute_class_weight("balanced", classes=np.arange(4), y=y)
    np.testing.assert_allclose(R.class_weights(y), ref, rtol=1e-12)


logits_st = st.integers(1, 12).flatmap(lambda n: st.integers(2, 5).flatmap(lambda c: st.tuples(
    hnp.arrays(np.float64, (n, c), elements=st.floats(-8, 8)),
    hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))))


@settings(max_examples=40, deadline=None)
@given(data=logits_st, seed=st.integers(0, 1000))
def test_weighted_cross_entropy_matches_torch(data, seed):
    z, y = data
    w = np.random.default_rng(seed).uniform(0.1, 3.0, size=z.shape[1])
    ref = torch.nn.CrossEntropyLoss(weight=torch.tensor(w))(torch.tensor(z), torch.tensor(y)).item()
    assert R.weighted_cross_entropy(z, y, w) == pytest.approx(ref, rel=1e-10, abs=1e-12)


def _focal_reference(z, y, gamma, alpha):
    """Lin et al.'s formula written directly with torch ops (probabilities, not log-probs)."""
    p = torch.softmax(z, dim=1)[torch.arange(len(y)), y]
    a = 1.0 if alpha is None else torch.tensor(alpha)[y]
    return (-a * (1 - p) ** gamma * torch.log(p)).mean()


@settings(max_examples=40, deadline=None)
@given(data=logits_st, gamma=st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.7]), use_alpha=st.booleans())
def test_focal_loss_and_grad_match_torch_autograd(data, gamma, use_alpha):
    z, y = data
    alpha = np.linspace(0.25, 1.0, z.shape[1]) if use_alpha else None
    zt = torch.tensor(z, requires_grad=True)
    ref = _focal_reference(zt, torch.tensor(y), gamma, alpha)
    ref.backward()
    assert R.focal_loss(z, y, gamma, alpha) == pytest.approx(ref.item(), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(R.focal_loss_grad(z, y, gamma, alpha), zt.grad.numpy(),
                               rtol=1e-7, atol=1e-12)
    assert R.focal_loss_torch(torch.tensor(z), torch.tensor(y), gamma, alpha).item() == \
        pytest.approx(ref.item(), rel=1e-9, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(data=logits_st)
def test_focal_loss_gamma0_is_cross_entropy(data):
    z, y = data
    ref = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(y)).item()
    assert R.focal_loss(z, y, 0.0) == pytest.approx(ref, rel=1e-10, abs=1e-12)


def test_focal_loss_downweights_easy_examples():
    z = np.array([[4.0, 0.0], [0.2, 0.0]])          # first example easy, second hard
    y = np.array([0, 0])
    ce = [R.focal_loss(z[i:i + 1], y[i:i + 1], 0.0) for i in range(2)]
    fl = [R.focal_loss(z[i:i + 1], y[i:i + 1], 2.0) for i in range(2)]
    assert fl[0] / ce[0] < 0.01 < 0.2 < fl[1] / ce[1]


@settings(max_examples=30, deadline=None)
@given(y=st.lists(st.integers(0, 2), min_size=3, max_size=50).filter(lambda v: len(set(v)) == 3),
       seed=st.integers(0, 100))
def test_resampling_balances_classes(y, seed):
    y = np.array(y)
    counts = np.bincount(y)
    over, under = R.oversample(y, seed), R.undersample(y, seed)
    assert np.all(np.bincount(y[over]) == counts.max())
    assert np.all(np.bincount(y[under]) == counts.min())
    assert set(range(len(y))) <= set(over.tolist())          # oversampling keeps every example
    assert len(set(under.tolist())) == len(under)              # undersampling never repeats


def test_imbalance_bad_input():
    with pytest.raises(ValueError, match="y"):
        R.class_weights(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="y"):
        R.class_weights(np.array([0, 2]))                       # class 1 missing
    with pytest.raises(ValueError, match="weight"):
        R.weighted_cross_entropy(np.zeros((2, 3)), np.array([0, 1]), np.ones(2))
    with pytest.raises(ValueError, match="gamma"):
        R.focal_loss(np.zeros((2, 3)), np.array([0, 1]), gamma=-1)
    with pytest.raises(ValueError, match="logits"):
        R.focal_loss(np.zeros(3), np.array([0]))
    with pytest.raises(ValueError, match="y"):
        R.focal_loss(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="alpha"):
        R.focal_loss(np.zeros((2, 3)), np.array([0, 1]), alpha=[1.0])


# -- the notebook's inline snippets are the dlbook functions -------------------------------
def _inline_dropout(x, p, u):
    """The few lines the chapter writes inline before importing dlbook's version."""
    mask = u < 1 - p
    return x * mask / (1 - p)


def _inline_early_stopping(val_losses, patience):
    best, best_epoch, wait = float("inf"), 0, 0
    for epoch, loss in enumerate(val_losses):
        if loss < best:
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch, best_epoch
    return len(val_losses) - 1, best_epoch


def _inline_focal(z, y, gamma):
    z = z - z.max(axis=1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    log_pt = log_p[np.arange(len(y)), y]
    return np.mean(-(1 - np.exp(log_pt)) ** gamma * log_pt)


@settings(max_examples=30, deadline=None)
@given(data=logits_st, p=st.floats(0, 0.95), gamma=st.floats(0, 4),
       losses=st.lists(st.floats(0, 5), min_size=1, max_size=30), patience=st.integers(1, 6))
def test_inline_snippets_equal_dlbook(data, p, gamma, losses, patience):
    z, y = data
    u = np.random.default_rng(0).uniform(size=z.shape)
    np.testing.assert_allclose(_inline_dropout(z, p, u), R.dropout(z, p, u=u)[0], rtol=1e-15)
    assert _inline_early_stopping(losses, patience) == R.early_stopping(losses, patience)
    assert _inline_focal(z, y, gamma) == pytest.approx(R.focal_loss(z, y, gamma), rel=1e-12, abs=1e-14)


# -- figures: controls at their extremes draw something, never raise -------------------------
def test_figures_survive_extreme_controls():
    import functools
    from dlbook import augment, widgets
    rng = np.random.default_rng(0)
    curves = {p: np.exp(-np.linspace(0, 3, 40)) + p for p in [0.0, 0.4, 0.8]}
    fig = widgets.interactive(functools.partial(R.draw_dropout, image=rng.uniform(size=(8, 8)),
                                                curves=curves),
                              p=widgets.FloatSlider(0.0, 1.0, value=0.5), clear=False)
    for p in [0.0, 0.5, 0.99, 1.0]:
        assert fig.render(p=p)[:4] == b"\x89PNG"
    v = np.r_[np.linspace(1, 0.2, 20), np.linspace(0.2, 0.6, 20)]
    fig = widgets.interactive(functools.partial(R.draw_early_stopping, val_loss=v, train_loss=v / 2,
                                                test_acc=1 - v / 4),
                              patience=widgets.IntSlider(1, 60, value=5), clear=False)
    for k in [1, 5, 60]:
        assert fig.render(patience=k)[:4] == b"\x89PNG"
    photos = (rng.uniform(size=(12, 16, 3)), rng.uniform(size=(12, 16, 3)))
    fig = widgets.interactive(functools.partial(R.draw_augment, images=photos,
                                                digits=rng.uniform(size=(6, 8, 8))),
                              augmentation=widgets.Dropdown(["flip", "rotation", "crop", "colour",
                                                             "cutout", "mixup", "cutmix"]),
                              strength=widgets.FloatSlider(0.0, 1.0, value=0.5), clear=False)
    for name in ["flip", "rotation", "crop", "colour", "cutout", "mixup", "cutmix"]:
        for s in [0.0, 1.0]:
            assert fig.render(augmentation=name, strength=s)[:4] == b"\x89PNG"
    assert augment.augment(photos[0], "crop", 1.0, rng=0).shape == photos[0].shape


def test_fit_custom_l1_prox_gives_exact_zeros_and_validates():
    from dlbook import data, train
    X, y = data.load_digits()
    zeros = {}
    for prox in (False, True):
        train.seed_everything(0)
        net = train.mlp([64, 16, 10]).double()
        R.fit_custom(net, X[:200], y[:200], torch.nn.functional.cross_entropy, lr=0.1, num_epochs=3,
                     l1=0.05, prox=prox, progress=False)
        zeros[prox] = np.mean(net[0].weight.detach().numpy() == 0)
    assert zeros[True] > 0.3 and zeros[False] < 0.01     # only the proximal step makes exact zeros
    with pytest.raises(ValueError, match="num_epochs"):
        R.fit_custom(net, X[:10], y[:10], torch.nn.functional.cross_entropy, num_epochs=0)
    with pytest.raises(ValueError, match="l1"):
        R.fit_custom(net, X[:10], y[:10], torch.nn.functional.cross_entropy, l1=-1.0)


@pytest.mark.parametrize("name", ["dropout", "early_stopping", "augment"])
def test_persistent_figures_match_fresh_ones(name, persistent_frames_match):
    """clear=False redraws (as in the chapter) look exactly like frames drawn from scratch."""
    import functools
    from dlbook import widgets
    rng = np.random.default_rng(0)
    curves = {p: np.exp(-np.linspace(0, 3, 40)) + p for p in [0.0, 0.4, 0.8]}
    v = np.r_[np.linspace(1, 0.2, 20), np.linspace(0.2, 0.6, 20)]
    image, photos = rng.uniform(size=(8, 8)), (rng.uniform(size=(12, 16, 3)), rng.uniform(size=(12, 16, 3)))
    digits = rng.uniform(size=(6, 8, 8))
    make = {
        "dropout": lambda clear: widgets.interactive(
            functools.partial(R.draw_dropout, image=image, curves=curves), clear=clear,
            p=widgets.FloatSlider(0.0, 1.0, value=0.5, static=[0.0, 0.4, 0.5, 0.99, 1.0])),
        "early_stopping": lambda clear: widgets.interactive(
            functools.partial(R.draw_early_stopping, val_loss=v, train_loss=v / 2, test_acc=1 - v / 4),
            clear=clear, patience=widgets.IntSlider(1, 60, value=5, static=[1, 3, 5, 20, 60])),
        "augment": lambda clear: widgets.interactive(
            functools.partial(R.draw_augment, images=photos, digits=digits), clear=clear,
            augmentation=widgets.Dropdown(["flip", "rotation", "crop", "colour", "cutout", "mixup",
                                           "cutmix"]),
            strength=widgets.FloatSlider(0.0, 1.0, value=0.5, static=3)),
    }
    persistent_frames_match(make[name])


def test_plot_focal_title_states_the_plotted_losses():
    fig = R.plot_focal(gammas=(0, 0.5, 2), p_mark=0.6)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 4                                   # 3 curves + the marker line
    x, y0 = ax.get_lines()[0].get_data()
    np.testing.assert_allclose(y0, -np.log(x), rtol=1e-12)             # γ = 0 is cross-entropy
    title = ax.get_title()
    assert f"{-np.log(0.6):.2f}" in title and f"{0.4 ** 2 * -np.log(0.6):.2f}" in title
    assert f"{0.4 ** 0.5 * -np.log(0.6):.2f}" in title


def test_plot_zero_pixels_reports_exact_zeros_per_pixel():
    rng = np.random.default_rng(3)
    X = rng.uniform(size=(20, 64))
    X[:, :8] = 0                                          # a never-inked first row of pixels
    W = rng.normal(size=(5, 64))
    W[:, :8] = 0                                          # ... whose weights are all exactly 0
    fig = R.plot_zero_pixels(X, {"prox": W, "plain": rng.normal(size=(5, 64))})
    titles = [ax.get_title() for ax in fig.axes]
    assert len(fig.axes) == 3 and "corr. with ink" in titles[1] and "no weight" in titles[2]
    near = rng.normal(size=(5, 64)) * 1e-4                # tiny but nonzero: the near-zero map is shown
    fig = R.plot_zero_pixels(X, {"sub": near})
    shown = fig.axes[1].images[0].get_array()
    assert "|w| < 0.001" in fig.axes[1].get_title() and np.allclose(shown, 1.0)
    r = np.corrcoef(X.mean(0), (W == 0).mean(0))[0, 1]
    assert f"{r:.2f}" in titles[1]
    with pytest.raises(ValueError, match="weights"):
        R.plot_zero_pixels(X, {"bad": np.full((5, 64), np.nan)})



# -- many seeds at once --------------------------------------------------------------------------
def _digits(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, (n, 12))
    return X, (X[:, :3].sum(1) * 2).astype(np.int64) % 4


@pytest.mark.parametrize("optimizer, wd, soft", [("adam", 1e-3, False), ("sgd", 0.0, False), ("adam", 0.0, True)])
def test_fit_seeds_equals_separate_train_fit_runs(optimizer, wd, soft):
    """Each stacked net follows exactly the run train.fit(seed=s) makes from the same init."""
    from dlbook import train
    X, y = _digits()
    target = np.eye(4)[y] * 0.8 + 0.05 if soft else y                 # soft targets: rows sum to 1
    seeds = [0, 3, 7]
    nets = R.seed_mlps([12, 16, 4], seeds)
    h = R.fit_seeds(nets, seeds, X, target, X_val=X[:30], y_val=y[:30], lr=0.01, num_epochs=3,
                    batch_size=20, optimizer=optimizer, weight_decay=wd, progress=False)
    scores = R.predict_seeds(nets, X)
    for i, s in enumerate(seeds):
        train.seed_everything(s)
        net = train.mlp([12, 16, 4]).double()
        ref = train.fit(net, X, target, X_val=X[:30], y_val=y[:30], lr=0.01, num_epochs=3, batch_size=20,
                        optimizer=optimizer, weight_decay=wd, seed=s, progress=False,
                        loss_fn=torch.nn.functional.cross_entropy if soft else None)
        np.testing.assert_allclose(h["train_loss"][:, i], ref["train_loss"], rtol=1e-10)
        np.testing.assert_allclose(h["val_loss"][:, i], ref["val_loss"], rtol=1e-10)
        with torch.no_grad():
            np.testing.assert_allclose(scores[i], net(torch.tensor(X)).numpy(), rtol=1e-9, atol=1e-12)
    assert np.ptp(h["val_loss"][-1]) > 0                              # the seeds really differ


def test_fit_seeds_per_run_lr_and_hook_equal_separate_runs():
    """lr given per run (SGD + momentum) reproduces train.fit at each run's own lr; the hook sees
    every epoch and can add a per-epoch record, and returning True stops the run."""
    from dlbook import train
    X, y = _digits()
    seeds, lrs = [0, 3, 0], [0.05, 0.2, 0.1]
    nets = R.seed_mlps([12, 16, 4], seeds)
    seen = []

    def hook(epoch, net, history):
        seen.append(epoch)
        history.setdefault("acc", []).append(R.accuracy_seeds(net, X, y))

    h = R.fit_seeds(nets, seeds, X, y, X_val=X[:30], y_val=y[:30], lr=lrs, momentum=0.9, optimizer="sgd",
                    num_epochs=3, batch_size=20, on_epoch_end=hook, progress=False)
    assert seen == [0, 1, 2] and h["acc"].shape == (3, 3)
    for i, (s, lr) in enumerate(zip(seeds, lrs)):
        train.seed_everything(s)
        net = train.mlp([12, 16, 4]).double()
        ref = train.fit(net, X, y, X_val=X[:30], y_val=y[:30], lr=lr, momentum=0.9, optimizer="sgd",
                        num_epochs=3, batch_size=20, seed=s, progress=False)
        np.testing.assert_allclose(h["train_loss"][:, i], ref["train_loss"], rtol=1e-10)
        np.testing.assert_allclose(h["val_loss"][:, i], ref["val_loss"], rtol=1e-10)
        np.testing.assert_allclose(h["acc"][-1, i], train.accuracy(net, X, y), rtol=0, atol=1e-12)
    assert not np.allclose(h["val_loss"][-1, 0], h["val_loss"][-1, 2])    # same seed, other lr differs
    h2 = R.fit_seeds(R.seed_mlps([12, 16, 4], [0, 1]), [0, 1], X, y, lr=0.1, num_epochs=5, batch_size=20,
                     on_epoch_end=lambda epoch, net, history: epoch == 1, progress=False)
    assert h2["train_loss"].shape == (2, 2)                           # stopped after epoch 1
    nets_a, nets_b = R.seed_mlps([12, 16, 4], [0, 1]), R.seed_mlps([12, 16, 4], [0, 1])
    ha = R.fit_seeds(nets_a, [0, 1], X, y, X_val=X[:30], y_val=y[:30], lr=0.1, num_epochs=3, batch_size=20,
                     progress=False)
    hb = R.fit_seeds(nets_b, [0, 1], X, y, X_val=X[:30], y_val=y[:30], lr=0.1, num_epochs=3, batch_size=20,
                     progress=False, train_loss=False)
    assert "train_loss" not in hb and ha["train_loss"].shape == (3, 2)  # skipping it changes no update:
    np.testing.assert_array_equal(hb["val_loss"], ha["val_loss"])
    nets = R.seed_mlps([12, 16, 4], [0, 1])
    with pytest.raises(ValueError, match="lr"):
        R.fit_seeds(nets, [0, 1], X, y, lr=[0.1, 0.2, 0.3], optimizer="sgd", num_epochs=1, batch_size=10)
    with pytest.raises(ValueError, match="lr"):
        R.fit_seeds(nets, [0, 1], X, y, lr=[0.1, 0.2], optimizer="adam", num_epochs=1, batch_size=10)
    with pytest.raises(ValueError, match="lr"):
        R.fit_seeds(nets, [0, 1], X, y, lr=[0.1, -0.2], optimizer="sgd", num_epochs=1, batch_size=10)


def test_seed_mlps_dropout_and_helpers():
    X, y = _digits()
    nets = R.seed_mlps([12, 16, 4], [0, 1], dropout=0.5, dropout_out=0.3)
    nets.train()
    Xs = torch.tensor(X).expand(2, *X.shape)
    assert not torch.equal(nets(Xs), nets(Xs))                        # masks are random in training
    nets.eval()
    assert torch.equal(nets(Xs), nets(Xs))                            # identity at evaluation
    acc = R.accuracy_seeds(nets, X, y)
    assert acc.shape == (2,) and np.all((acc >= 0) & (acc <= 1))
    norms = R.weight_norms(nets)
    W = [np.concatenate([W[s].detach().numpy().ravel() for W in nets.W]) for s in range(2)]
    np.testing.assert_allclose(norms, [np.linalg.norm(w) for w in W], rtol=1e-12)
    with pytest.raises(ValueError, match="seeds"):
        R.seed_mlps([12, 4], [])
    with pytest.raises(ValueError, match="seeds"):
        R.fit_seeds(nets, [0], X, y, lr=0.1, num_epochs=1, batch_size=10)
    with pytest.raises(ValueError, match="lr"):
        R.fit_seeds(nets, [0, 1], X, y, lr=-1.0, num_epochs=1, batch_size=10)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-100, 100), min_size=2, max_size=30))
def test_mean_se_matches_scipy(values):
    from scipy import stats
    text = R.mean_se(values, digits=6)
    mean, se = (float(t) for t in text.split(" ± "))
    assert mean == pytest.approx(np.mean(values), abs=1e-6)
    assert se == pytest.approx(stats.sem(values), abs=1e-6)


def test_mean_se_bad_input():
    with pytest.raises(ValueError, match="values"):
        R.mean_se([1.0])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(2, 40), st.booleans())
def test_f1_threshold_is_the_best_of_all_thresholds(seed, n, ties):
    from sklearn import metrics
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    y[0] = 1
    s = rng.integers(0, 4, n).astype(float) if ties else rng.normal(size=n)
    t, f1 = R.f1_threshold(y, s)
    brute = max(metrics.f1_score(y, s >= c) for c in np.unique(s))          # every threshold tried
    assert f1 == pytest.approx(brute, abs=1e-12)
    assert f1 == pytest.approx(metrics.f1_score(y, s >= t), abs=1e-12)
    assert t == max(c for c in np.unique(s) if metrics.f1_score(y, s >= c) == pytest.approx(f1, abs=1e-12))


def test_f1_threshold_bad_input():
    with pytest.raises(ValueError, match="y"):
        R.f1_threshold([0, 0, 0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="scores"):
        R.f1_threshold([0, 1], [0.1, np.nan])
