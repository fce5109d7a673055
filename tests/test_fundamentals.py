"""dlbook.fundamentals against NumPy / scikit-learn references (float64, explicit tolerances)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dlbook import fundamentals as fm
from dlbook import losses
from dlbook import widgets

import sklearn.linear_model as sk_linear  # noqa: E402  (scikit-learn is pinned: a reference, never skipped)
from sklearn.model_selection import (GridSearchCV, KFold, StratifiedKFold, TimeSeriesSplit,  # noqa: E402
                                     cross_val_score)
from sklearn.preprocessing import PolynomialFeatures  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None)


def _regression(seed, n=40, p=6, noise=0.5):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p)) * rng.uniform(0.5, 3, p) + rng.normal(0, 2, p)
    w = rng.standard_normal(p) * (rng.random(p) < 0.6)
    return X, X @ w + 1.5 + noise * rng.standard_normal(n)


# -- polynomial regression -------------------------------------------------------------------
@SETTINGS
@given(degree=st.integers(0, 6), n_extra=st.integers(2, 30), seed=st.integers(0, 10_000))
def test_fit_polynomial_matches_polyfit_and_sklearn(degree, n_extra, seed):
    x, y = fm.sample_data(degree + n_extra, 0.3, seed)
    w = fm.fit_polynomial(x, y, degree)
    np.testing.assert_allclose(w[::-1], np.polyfit(x, y, degree), rtol=1e-6, atol=1e-8)
    F = PolynomialFeatures(degree).fit_transform(x[:, None])
    np.testing.assert_allclose(fm.polynomial_features(x, degree), F, rtol=1e-12, atol=0)
    ref = sk_linear.LinearRegression(fit_intercept=False).fit(F, y).predict(F)
    np.testing.assert_allclose(fm.predict_polynomial(w, x), ref, rtol=1e-7, atol=1e-8)


def test_polynomial_experiment_matches_direct_refits():
    exp = fm.polynomial_experiment(15, degrees=[0, 2, 5], n_repeats=4, n_test=30, seed=3)
    noise = 0.37
    errs = fm.polynomial_errors(exp, noise)
    for d_i, d in enumerate([0, 2, 5]):
        preds = []
        for r in range(4):
            y = fm.true_function(exp["x"][r]) + noise * exp["eps"][r]   # the same resampled set
            w = fm.fit_polynomial(exp["x"][r], y, d)
            preds.append(fm.predict_polynomial(w, exp["x_test"]))
            train = fm.predict_polynomial(w, exp["x"][r])
            np.testing.assert_allclose(exp["A_train"][d_i, r] + noise * exp["B_train"][d_i, r],
                                       train, atol=1e-8)
        preds = np.array(preds)
        np.testing.assert_allclose(exp["A_test"][d_i] + noise * exp["B_test"][d_i], preds, atol=1e-8)
        y_test = exp["f_test"] + noise * exp["eps_test"]
        ref = fm.bias_variance(preds, exp["f_test"], y_test)
        for key in ("bias2", "variance", "noise", "mse"):
            name = "test" if key == "mse" else key
            assert errs[name][d_i] == pytest.approx(ref[key], rel=1e-8, abs=1e-12)


@SETTINGS
@given(R=st.integers(2, 20), G=st.integers(1, 20), seed=st.integers(0, 10_000))
def test_bias_variance_identity(R, G, seed):
    rng = np.random.default_rng(seed)
    y_hat, f = rng.normal(size=(R, G)), rng.normal(size=G)
    y = f + rng.normal(size=(R, G))
    out = fm.bias_variance(y_hat, f, y)
    # loops as the definition reads: per test point, mean and variance over refits
    bias2_naive = np.mean([(np.mean(y_hat[:, g]) - f[g]) ** 2 for g in range(G)])
    var = np.mean([np.var(y_hat[:, g], ddof=1) for g in range(G)])
    assert out["bias2_naive"] == pytest.approx(bias2_naive, rel=1e-10, abs=1e-14)
    assert out["variance"] == pytest.approx(var, rel=1e-10, abs=1e-14)
    assert out["bias2"] == pytest.approx(max(bias2_naive - var / R, 0.0), rel=1e-10, abs=1e-14)
    # E(ŷ - y)² = naive bias² + (R-1)/R variance + noise + 2·E[(ŷ - f)(f - y)] exactly
    cross = 2 * np.mean((y_hat - f) * (f - y))
    assert out["mse"] == pytest.approx(out["bias2_naive"] + out["variance"] * (R - 1) / R
                                       + out["noise"] + cross, rel=1e-10, abs=1e-12)


def test_bias2_correction_removes_the_monte_carlo_overshoot():
    """Unbiased models (mean exactly f): the naive estimate averages variance/R, the corrected ~0."""
    rng = np.random.default_rng(0)
    R, G, trials = 10, 50, 400
    naive, corrected = [], []
    for _ in range(trials):
        out = fm.bias_variance(rng.normal(0.0, 2.0, (R, G)), np.zeros(G))
        naive.append(out["bias2_naive"])
        corrected.append(out["bias2_naive"] - out["variance"] / R)      # before clipping
    assert np.mean(naive) == pytest.approx(4.0 / R, rel=0.02)          # σ²/R = 0.4
    assert abs(np.mean(corrected)) < 0.01


def test_noise_free_bias_agrees_with_the_corrected_estimate():
    exp = fm.polynomial_experiment(30, degrees=range(6), n_repeats=400, seed=1)
    e = fm.polynomial_errors(exp, 0.3)
    np.testing.assert_allclose(e["bias2_noise_free"][:4], e["bias2"][:4], rtol=0.05)


def test_decomposition_adds_up_in_the_experiment():
    exp = fm.polynomial_experiment(30, degrees=range(8), n_repeats=300, seed=0)
    e = fm.polynomial_errors(exp, 0.3)
    total = e["bias2"] + e["variance"] + e["noise"]
    np.testing.assert_allclose(total, e["test"], rtol=0.05)
    assert e["train"][3] < e["test"][3]


# -- splits and cross-validation -------------------------------------------------------------
@SETTINGS
@given(n=st.integers(3, 300), val=st.floats(0, 0.45), test=st.floats(0, 0.45))
def test_train_val_test_split_partitions(n, val, test):
    tr, va, te = fm.train_val_test_split(n, val, test, rng=0)
    assert len(va) == int(n * val) and len(te) == int(n * test)
    assert np.array_equal(np.sort(np.concatenate([tr, va, te])), np.arange(n))


@SETTINGS
@given(n=st.integers(2, 200), k=st.integers(2, 12))
def test_kfold_matches_sklearn(n, k):
    if k > n:
        with pytest.raises(ValueError, match="k"):
            fm.kfold_indices(n, k)
        return
    ours = fm.kfold_indices(n, k)
    ref = list(KFold(n_splits=k).split(np.zeros((n, 1))))
    assert len(ours) == len(ref)
    for (tr, va), (tr_ref, va_ref) in zip(ours, ref):
        assert np.array_equal(tr, tr_ref) and np.array_equal(va, va_ref)
    shuffled = fm.kfold_indices(n, k, shuffle=True, rng=1)
    assert np.array_equal(np.sort(np.concatenate([va for _, va in shuffled])), np.arange(n))
    assert all(len(np.intersect1d(tr, va)) == 0 for tr, va in shuffled)


@pytest.mark.parametrize("k", [2, 5, 7])
def test_cross_val_scores_match_sklearn(k):
    X, y = _regression(0, n=53)
    ours = fm.cross_val_scores(lambda Xt, yt: sk_linear.Ridge(alpha=2.0).fit(Xt, yt),
                               lambda m, Xv, yv: -losses.mse(m.predict(Xv), yv),
                               X, y, k)
    ref = cross_val_score(sk_linear.Ridge(alpha=2.0), X, y, cv=KFold(k),
                          scoring="neg_mean_squared_error")
    np.testing.assert_allclose(ours, ref, rtol=1e-10)


@SETTINGS
@given(n=st.integers(4, 80), k=st.integers(2, 8), n_classes=st.integers(1, 4), seed=st.integers(0, 10_000))
def test_stratified_kfold_matches_sklearn(n, k, n_classes, seed):
    y = np.random.default_rng(seed).choice(np.array(list("abcd"))[:n_classes], n)
    if k > n:
        with pytest.raises(ValueError, match="y"):
            fm.stratified_kfold_indices(y, k)
        return
    if np.unique(y, return_counts=True)[1].max() < k:
        return                                         # sklearn refuses: every class < k rows
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")               # "least populated class has fewer than k"
        ref = list(StratifiedKFold(n_splits=k).split(np.zeros(n), y))
    ours = fm.stratified_kfold_indices(y, k)
    for (tr, va), (tr_ref, va_ref) in zip(ours, ref, strict=True):
        assert np.array_equal(tr, tr_ref) and np.array_equal(va, va_ref)


@SETTINGS
@given(n=st.integers(3, 200), k=st.integers(2, 10))
def test_time_series_splits_match_sklearn(n, k):
    if n // (k + 1) < 1:
        with pytest.raises(ValueError, match="k"):
            fm.time_series_splits(n, k)
        return
    ref = list(TimeSeriesSplit(n_splits=k).split(np.zeros(n)))
    for (tr, va), (tr_ref, va_ref) in zip(fm.time_series_splits(n, k), ref, strict=True):
        assert np.array_equal(tr, tr_ref) and np.array_equal(va, va_ref)
        assert tr.max() < va.min()                    # never train on the future


@SETTINGS
@given(seed=st.integers(0, 10_000), alpha=st.floats(0, 20))
def test_ridge_loo_residuals_match_refitting(seed, alpha):
    X, y = _regression(seed, n=25, p=3)
    ours = fm.ridge_loo_residuals(X, y, alpha)
    ref = [y[i] - sk_linear.Ridge(alpha=alpha, solver="svd").fit(np.delete(X, i, 0), np.delete(y, i))
           .predict(X[i:i + 1])[0] for i in range(len(y))]
    np.testing.assert_allclose(ours, ref, rtol=1e-7, atol=1e-8)


def test_ridge_loo_matches_sklearn_ridgecv():
    X, y = _regression(3, n=40, p=5)
    ref = sk_linear.RidgeCV(alphas=[2.0], store_cv_results=True).fit(X, y)
    np.testing.assert_allclose(fm.ridge_loo_residuals(X, y, 2.0) ** 2,
                               ref.cv_results_[:, 0], rtol=1e-8)


def test_nested_cv_matches_sklearn_gridsearch_in_cross_val_score():
    X, y = _regression(5, n=57)
    alphas = [0.01, 1.0, 10.0, 100.0, 1000.0]
    ours, chosen = fm.nested_cv(lambda a, Xt, yt: sk_linear.Ridge(alpha=a).fit(Xt, yt),
                                lambda m, Xv, yv: -losses.mse(m.predict(Xv), yv), alphas, X, y, 5, 4)
    search = GridSearchCV(sk_linear.Ridge(), {"alpha": alphas}, cv=KFold(4),
                          scoring="neg_mean_squared_error")
    ref = cross_val_score(search, X, y, cv=KFold(5), scoring="neg_mean_squared_error")
    np.testing.assert_allclose(ours, ref, rtol=1e-10)
    assert chosen.shape == (5,) and chosen.min() >= 0 and chosen.max() < len(alphas)


def test_double_descent_matches_direct_min_norm_fits():
    widths = [3, 10, 12, 30]
    out = fm.double_descent(n_train=10, widths=widths, n_features=30, noise=0.2, decay=1.0,
                            n_seeds=2, seed=4)
    rng = np.random.default_rng(4)
    beta = np.arange(1, 31) ** -1.0
    beta /= np.linalg.norm(beta)
    for s in range(2):
        X = rng.standard_normal((10, 30))
        y = X @ beta + 0.2 * rng.standard_normal(10)
        for i, p in enumerate(widths):
            w = np.zeros(30)
            w[:p] = np.linalg.pinv(X[:, :p]) @ y                    # min-norm least squares
            X_test = np.random.default_rng(100 + s).standard_normal((200_000, 30))
            mc = np.mean((X_test @ beta - X_test @ w) ** 2) + 0.04  # Monte-Carlo test MSE
            assert out[s, i] == pytest.approx(np.sum((beta - w) ** 2) + 0.04, rel=1e-8)
            assert out[s, i] == pytest.approx(mc, rel=0.02)


# -- ridge / lasso / elastic net ---------------------------------------------------------------
@SETTINGS
@given(seed=st.integers(0, 10_000), lam=st.floats(1e-4, 10), fit_intercept=st.booleans())
def test_ridge_matches_sklearn(seed, lam, fit_intercept):
    X, y = _regression(seed)
    w, b = fm.ridge(X, y, lam, fit_intercept=fit_intercept)
    ref = sk_linear.Ridge(alpha=len(y) * lam, fit_intercept=fit_intercept, solver="svd").fit(X, y)
    np.testing.assert_allclose(w, ref.coef_, rtol=1e-8, atol=1e-10)
    assert b == pytest.approx(ref.intercept_, rel=1e-8, abs=1e-10)


@SETTINGS
@given(seed=st.integers(0, 10_000), lam=st.floats(1e-3, 2), l1_ratio=st.sampled_from([0.1, 0.5, 1.0]))
def test_elastic_net_matches_sklearn(seed, lam, l1_ratio):
    X, y = _regression(seed)
    w, b = fm.elastic_net(X, y, lam, l1_ratio, tol=1e-12, max_iter=100_000)
    Model = sk_linear.Lasso if l1_ratio == 1 else sk_linear.ElasticNet
    kw = {} if l1_ratio == 1 else {"l1_ratio": l1_ratio}
    ref = Model(alpha=lam, tol=1e-14, max_iter=1_000_000, **kw).fit(X, y)
    np.testing.assert_allclose(w, ref.coef_, rtol=1e-6, atol=1e-7)
    assert b == pytest.approx(ref.intercept_, rel=1e-6, abs=1e-6)
    ours = fm.elastic_net_objective(X, y, w, b, lam, l1_ratio)
    theirs = fm.elastic_net_objective(X, y, ref.coef_, ref.intercept_, lam, l1_ratio)
    assert ours <= theirs + 1e-10
    assert np.array_equal(w == 0, ref.coef_ == 0)          # the same exact zeros


def test_lasso_is_elastic_net_l1_and_cd_ridge_is_closed_form():
    X, y = _regression(7)
    np.testing.assert_array_equal(fm.lasso(X, y, 0.1)[0], fm.elastic_net(X, y, 0.1, 1.0)[0])
    w_cd, b_cd = fm.elastic_net(X, y, 0.3, 0.0, tol=1e-13, max_iter=100_000)
    w, b = fm.ridge(X, y, 0.3)
    np.testing.assert_allclose(w_cd, w, rtol=1e-8, atol=1e-10)
    assert b_cd == pytest.approx(b, rel=1e-8)


@pytest.mark.parametrize("l1_ratio", [0.5, 1.0])
def test_lambda_max_is_where_all_weights_vanish(l1_ratio):
    X, y = _regression(2)
    lam = fm.lambda_max(X, y, l1_ratio)
    assert np.all(fm.elastic_net(X, y, lam * 1.0001, l1_ratio)[0] == 0)
    assert np.any(fm.elastic_net(X, y, lam * 0.99, l1_ratio)[0] != 0)
    ref = sk_linear.ElasticNet(alpha=lam * 0.99, l1_ratio=l1_ratio, tol=1e-12).fit(X, y)
    assert np.sum(ref.coef_ != 0) >= 1
    assert fm.lambda_max(X, y, 0.0) == math.inf


def test_regularization_path_matches_sklearn_and_cv_curve():
    X, y = _regression(4, n=60)
    lams = np.geomspace(1e-2, 3, 8)
    W = fm.regularization_path(X, y, lams, 1.0)
    for lam, w in zip(lams, W):
        ref = sk_linear.Lasso(alpha=lam, tol=1e-12, max_iter=100_000).fit(X, y).coef_
        np.testing.assert_allclose(w, ref, atol=1e-4)
    study = fm.regularization_study(X, y, [f"x{j}" for j in range(6)], lams, k=3)
    for i in (0, 5):
        ref = -cross_val_score(sk_linear.Lasso(alpha=lams[i], tol=1e-12, max_iter=100_000),
                               X, y, cv=KFold(3), scoring="neg_mean_squared_error").mean()
        assert study["cv"]["L1 (lasso)"][i] == pytest.approx(ref, rel=1e-4)


# -- test-set reuse ----------------------------------------------------------------------------
@SETTINGS
@given(a=st.lists(st.floats(0, 1), min_size=1, max_size=40))
def test_running_argmax(a):
    ref = [int(np.argmax(a[:m])) for m in range(1, len(a) + 1)]
    assert list(fm.running_argmax(a)) == ref


def test_selection_on_test_set_is_optimistic():
    sel = fm.selection_experiment(n_models=100, n_tests=(50, 200), n_trials=20, n_fresh=500)
    for res in sel.values():
        assert np.all(np.diff(res["chosen"], axis=1) >= 0)       # best-so-far never drops
        assert res["chosen"][:, -1].mean() > res["fresh"][:, -1].mean() + 0.05
        assert abs(res["fresh"][:, -1].mean() - 0.5) < 0.03
    assert sel[50]["chosen"][:, -1].mean() > sel[200]["chosen"][:, -1].mean()


# -- the notebook's inline code is the dlbook code ------------------------------------------------
def _inline_ridge(X, y, lam):          # as in the notebook
    n, p = X.shape
    Xc, yc = X - X.mean(0), y - y.mean()
    w = np.linalg.solve(Xc.T @ Xc + n * lam * np.eye(p), Xc.T @ yc)
    return w, y.mean() - X.mean(0) @ w


def _inline_lasso(X, y, lam, sweeps=2000):  # as in the notebook
    n, p = X.shape
    Xc, yc = X - X.mean(0), y - y.mean()
    w = np.zeros(p)
    for _ in range(sweeps):
        for j in range(p):
            r_j = yc - Xc @ w + Xc[:, j] * w[j]                # residual without feature j
            rho = Xc[:, j] @ r_j / n
            w[j] = np.sign(rho) * max(abs(rho) - lam, 0) / (Xc[:, j] @ Xc[:, j] / n)
    return w


def _inline_kfold(n, k):               # as in the notebook
    sizes = [n // k + (i < n % k) for i in range(k)]
    starts = np.cumsum([0] + sizes)
    return [np.arange(starts[i], starts[i + 1]) for i in range(k)]


def _inline_bias_variance(y_hat, f):   # as in the notebook
    bias2_naive = np.mean((y_hat.mean(axis=0) - f) ** 2)        # overshoots by variance / R
    variance = np.mean(y_hat.var(axis=0, ddof=1))
    bias2 = max(bias2_naive - variance / len(y_hat), 0.0)
    return bias2, variance


def _inline_ista(X, y, lam, steps=20_000):   # as in the notebook
    n = len(y)
    Xc, yc = X - X.mean(0), y - y.mean()
    L = np.linalg.eigvalsh(Xc.T @ Xc / n).max()
    w = np.zeros(X.shape[1])
    for _ in range(steps):
        z = w - Xc.T @ (Xc @ w - yc) / n / L
        w = np.sign(z) * np.maximum(np.abs(z) - lam / L, 0)
    return w


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inline_snippets_equal_dlbook(seed):
    X, y = _regression(seed)
    w, b = _inline_ridge(X, y, 0.2)
    w_ref, b_ref = fm.ridge(X, y, 0.2)
    np.testing.assert_allclose(w, w_ref, rtol=1e-9)
    assert b == pytest.approx(b_ref, rel=1e-9)
    np.testing.assert_allclose(_inline_lasso(X, y, 0.1), fm.lasso(X, y, 0.1, tol=1e-12)[0],
                               atol=1e-7)
    for n, k in ((10, 3), (442, 5), (7, 7)):
        assert all(np.array_equal(a, va) for a, (_, va) in zip(_inline_kfold(n, k),
                                                               fm.kfold_indices(n, k)))
    rng = np.random.default_rng(seed)
    y_hat, f = rng.normal(size=(9, 5)), rng.normal(size=5)
    out = fm.bias_variance(y_hat, f)
    assert _inline_bias_variance(y_hat, f) == pytest.approx((out["bias2"], out["variance"]))
    np.testing.assert_allclose(_inline_ista(X, y, 0.1), fm.lasso(X, y, 0.1, tol=1e-12)[0], atol=1e-7)


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("call,name", [
    (lambda: fm.fit_polynomial([0, 1, 2], [1, 2, 3], -1), "degree"),
    (lambda: fm.fit_polynomial([0, 1, 2], [1, 2], 1), "y"),
    (lambda: fm.fit_polynomial([0, np.nan], [1, 2], 1), "x"),
    (lambda: fm.sample_data(10, -0.1), "noise"),
    (lambda: fm.polynomial_errors(fm.polynomial_experiment(5, [1], 2, 4), -1), "noise"),
    (lambda: fm.bias_variance(np.zeros((3, 4)), np.zeros(5)), "f"),
    (lambda: fm.bias_variance(np.zeros((3, 4)), np.zeros(4), np.zeros((2, 4))), "y"),
    (lambda: fm.train_val_test_split(10, 0.6, 0.5), "val"),
    (lambda: fm.train_val_test_split(10, -0.1, 0.2), "val"),
    (lambda: fm.kfold_indices(10, 1), "k"),
    (lambda: fm.cross_val_scores(None, None, np.zeros((4, 2)), np.zeros(3)), "y"),
    (lambda: fm.ridge(np.zeros((4, 2)), np.zeros(4), -1.0), "lam"),
    (lambda: fm.ridge(np.zeros(4), np.zeros(4), 1.0), "X"),
    (lambda: fm.ridge(np.zeros((4, 2)), np.zeros(3), 1.0), "y"),
    (lambda: fm.elastic_net(np.zeros((4, 2)), np.zeros(4), 1.0, l1_ratio=1.5), "l1_ratio"),
    (lambda: fm.elastic_net(np.zeros((4, 2)), np.zeros(4), math.nan), "lam"),
    (lambda: fm.elastic_net(np.zeros((4, 2)), np.zeros(4), 1.0, w0=np.zeros(3)), "w0"),
    (lambda: fm.regularization_path(np.zeros((4, 2)), np.zeros(4), [1.0], 2.0), "l1_ratio"),
    (lambda: fm.regularization_path(np.zeros((4, 2)), np.zeros(4), [-1.0], 0.5), "lams"),
    (lambda: fm.kfold_indices(3, 5), "k"),
    (lambda: fm.bias_variance(np.zeros((1, 4)), np.zeros(4)), "y_hat"),
    (lambda: fm.stratified_kfold_indices([0, 1, 0], 5), "y"),
    (lambda: fm.stratified_kfold_indices([0, 1, 0, 1], 1), "k"),
    (lambda: fm.time_series_splits(5, 5), "k"),
    (lambda: fm.nested_cv(None, None, [], np.zeros((4, 2)), np.zeros(4)), "candidates"),
    (lambda: fm.nested_cv(None, None, [1], np.zeros((4, 2)), np.zeros(3)), "y"),
    (lambda: fm.ridge_loo_residuals(np.zeros((4, 2)), np.zeros(4), -1.0), "alpha"),
    (lambda: fm.double_descent(widths=[0]), "widths"),
    (lambda: fm.double_descent(noise=-1.0), "noise"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_constant_features_do_not_crash():
    X, y = np.ones((5, 2)), np.arange(5.0)
    assert np.all(fm.lasso(X, y, 0.1)[0] == 0)


# -- interactive figures: extremes draw something, in-place redraws are exact --------------------------------
@pytest.fixture(scope="module")
def makers():
    """The chapter's three figures as factories: make(clear) -> Interactive."""
    from dlbook import data
    exps = {n: fm.polynomial_experiment(n, n_repeats=30) for n in (20, 50)}
    X, y = data.load_dataset("diabetes")
    X = (X - X.mean(0)) / X.std(0)
    study = fm.regularization_study(X, y, data.feature_names("diabetes"),
                                    np.geomspace(1e-2, 1e2, 12))
    sel = fm.selection_experiment(n_models=30, n_tests=(50, 200), n_trials=5, n_fresh=200)
    return [
        lambda clear: widgets.interactive(
            lambda fig, degree, noise, n_train: fm.draw_bias_variance(fig, degree, noise, n_train, exps),
            clear=clear, degree=widgets.IntSlider(0, 20, 3), noise=widgets.LogSlider(0.01, 2, 0.3),
            n_train=widgets.Dropdown([20, 50], 20)),
        lambda clear: widgets.interactive(
            lambda fig, lam, penalty: fm.draw_paths(fig, lam, penalty, study), clear=clear,
            lam=widgets.LogSlider(1e-2, 1e2, 1.0), penalty=widgets.Dropdown(list(fm.PENALTIES))),
        lambda clear: widgets.interactive(
            lambda fig, n_models, n_test: fm.draw_selection(fig, n_models, n_test, sel), clear=clear,
            n_models=widgets.IntSlider(1, 30, 10), n_test=widgets.Dropdown([50, 200])),
    ]


def test_figures_survive_extremes(makers):
    bv, paths, sel = (make(False) for make in makers)
    for degree in (0, 20):
        for noise in (0.01, 2.0):
            assert bv.render(degree=degree, noise=noise, n_train=20)[:4] == b"\x89PNG"
    assert bv.figure.axes[0].texts[-1].get_visible()          # "passes through all points"
    for penalty in fm.PENALTIES:
        for lam in (1e-2, 1e2):
            paths.render(lam=lam, penalty=penalty)
    assert paths.figure.axes[1].texts[-1].get_visible()       # lasso at λ=100: all zero
    for m in (1, 30):
        sel.render(n_models=m, n_test=50)


@pytest.mark.parametrize("k", range(3))
def test_persistent_figures_match_fresh_ones(makers, persistent_frames_match, k):
    """Each figure updates its artists in place (clear=False); every frame must look exactly as
    if drawn on an empty figure."""
    persistent_frames_match(makers[k])


def test_penalty_geometry_optima_match_scipy():
    from scipy.optimize import minimize
    w0, A = np.array([2.0, 0.8]), np.array([[1.0, 0.6], [0.6, 1.0]])
    _, sol = fm.plot_penalty_geometry(w0, A, radius=1.0)
    loss = lambda w: 0.5 * (w - w0) @ A @ (w - w0)
    for name, con in (("L1", lambda w: 1.0 - np.abs(w).sum()), ("L2", lambda w: 1.0 - w @ w)):
        ref = minimize(loss, np.zeros(2), method="SLSQP", constraints=[{"type": "ineq", "fun": con}],
                       options={"ftol": 1e-12}).x
        np.testing.assert_allclose(sol[name], ref, atol=1e-3)
    assert sol["L1"][1] == 0.0                          # the L1 optimum sits on a corner


def test_elastic_net_on_nearly_collinear_features_matches_sklearn():
    """Slow coordinate descent: the exact finish on the support must give sklearn's optimum."""
    rng = np.random.default_rng(0)
    z = rng.standard_normal((80, 1))
    X = np.hstack([z + 0.05 * rng.standard_normal((80, 3)), rng.standard_normal((80, 2))])
    y = X @ np.array([1.0, 0.5, 0.0, 2.0, 0.0]) + 0.1 * rng.standard_normal(80)
    for lam, r in ((1e-3, 1.0), (1e-2, 0.5), (0.05, 1.0)):
        w, b = fm.elastic_net(X, y, lam, r, tol=1e-12, max_iter=100_000)
        ref = sk_linear.ElasticNet(alpha=lam, l1_ratio=r, tol=1e-14, max_iter=10_000_000).fit(X, y)
        np.testing.assert_allclose(w, ref.coef_, atol=1e-6)
        assert np.array_equal(w == 0, ref.coef_ == 0)
