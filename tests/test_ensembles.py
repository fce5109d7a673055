"""dlbook.ensembles against scikit-learn (float64, explicit tolerances): stumps, boosting, bagging."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from sklearn.ensemble import BaggingRegressor, GradientBoostingRegressor
from sklearn.tree import DecisionTreeRegressor

from dlbook import ensembles, widgets

SETTINGS = settings(max_examples=25, deadline=None)


# -- stumps, boosting, bagging against scikit-learn ---------------------------------------------
@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(2, 60), p=st.integers(1, 4))
def test_stump_matches_sklearn_depth_one_tree(seed, n, p):
    rng = np.random.default_rng(seed)
    X, y = rng.uniform(-1, 1, (n, p)), rng.normal(size=n)
    stump = ensembles.fit_stump(X, y)
    ref = DecisionTreeRegressor(max_depth=1, random_state=0).fit(X, y)
    sse = np.sum((ensembles.predict_stump(stump, X) - y) ** 2)      # both find the optimal split
    assert sse == pytest.approx(np.sum((ref.predict(X) - y) ** 2), rel=1e-9, abs=1e-12)
    if ref.tree_.node_count == 3 and ref.tree_.feature[0] != stump[0]:
        return                                               # a tie between features: both optimal
    X_new = rng.uniform(-1.2, 1.2, (50, p))
    np.testing.assert_allclose(ensembles.predict_stump(stump, X), ref.predict(X), atol=1e-10)
    np.testing.assert_allclose(ensembles.predict_stump(stump, X_new), ref.predict(X_new), atol=1e-10)


@pytest.mark.parametrize("lr,n_rounds", [(0.1, 50), (0.5, 20), (1.0, 5)])
def test_gradient_boosting_matches_sklearn(lr, n_rounds):
    rng = np.random.default_rng(int(lr * 10))
    X = rng.uniform(-1, 1, (80, 3))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2 + 0.1 * rng.normal(size=80)
    model = ensembles.gradient_boosting(X, y, n_rounds, lr)
    ref = GradientBoostingRegressor(n_estimators=n_rounds, learning_rate=lr, max_depth=1,
                                    random_state=0).fit(X, y)
    X_new = rng.uniform(-1, 1, (40, 3))
    ours = ensembles.staged_predict_boosting(model, X_new)
    np.testing.assert_allclose(ours, np.array(list(ref.staged_predict(X_new))), atol=1e-8)


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(1, 80))
def test_full_tree_1d_matches_sklearn_unlimited_tree(seed, n):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, n)
    y = np.sin(3 * x) + 0.3 * rng.normal(size=n)
    idx = rng.integers(0, n, n)                         # a bootstrap sample: repeated rows
    xb, yb = x[idx], y[idx]
    ref = DecisionTreeRegressor().fit(xb[:, None], yb)
    x_new = rng.uniform(-1.1, 1.1, 200)
    ours = ensembles.predict_full_tree_1d(ensembles.fit_full_tree_1d(xb, yb), x_new)
    np.testing.assert_allclose(ours, ref.predict(x_new[:, None]), atol=1e-12)


def test_bagging_matches_sklearn_with_its_bootstrap_samples():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (60, 1))
    y = np.sin(3 * X[:, 0]) + 0.3 * rng.normal(size=60)
    ref = BaggingRegressor(DecisionTreeRegressor(), n_estimators=12, random_state=0).fit(X, y)
    X_test = rng.uniform(-1, 1, (30, 1))
    members = ensembles.bagging_predictions(ensembles._full_tree_fit_predict, X, y, X_test,
                                     np.array(ref.estimators_samples_))
    np.testing.assert_allclose(members.mean(0), ref.predict(X_test), atol=1e-12)


def test_bootstrap_keeps_about_63_percent_of_rows():
    n = 1000
    idx = ensembles.bootstrap_indices(n, 200, rng=0)
    unique = np.mean([len(np.unique(row)) / n for row in idx])
    assert unique == pytest.approx(1 - (1 - 1 / n) ** n, abs=0.005)


def test_bagging_cuts_variance_boosting_cuts_bias():
    ens = ensembles.ensemble_experiment(n_members=30, n_repeats=20, seed=1)
    assert ens["bag_var"][-1] < 0.7 * ens["bag_var"][0]
    assert ens["boost_bias2"][-1] < 0.5 * ens["boost_bias2"][0]


def test_reference_stump_is_one_boosting_round_at_lr_one():
    ens = ensembles.ensemble_experiment(n_members=3, n_repeats=4, lr=0.1, seed=2)
    x, y = ens["x"], ens["y"]                              # the first repeat's training set
    one_round = ensembles.staged_predict_boosting(
        ensembles.gradient_boosting(x[:, None], y, 1, lr=1.0), ens["x_test"][:, None])[0]
    ref = DecisionTreeRegressor(max_depth=1, random_state=0).fit(x[:, None], y)
    np.testing.assert_allclose(ens["stump"][0], one_round, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ens["stump"][0], ref.predict(ens["x_test"][:, None]), rtol=0, atol=1e-12)
    mean = ens["stump"].mean(0)
    var = ens["stump"].var(0, ddof=1).mean()
    assert ens["stump_var"] == pytest.approx(var, rel=1e-12)
    assert ens["stump_bias2"] == pytest.approx(max(np.mean((mean - ens["f_test"]) ** 2) - var / 4, 0), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("call,name", [
    (lambda: ensembles.gradient_boosting(np.zeros((4, 1)), np.zeros(4), 0), "n_rounds"),
    (lambda: ensembles.gradient_boosting(np.zeros((4, 1)), np.zeros(4), 3, lr=-0.1), "lr"),
    (lambda: ensembles.bootstrap_indices(0, 3), "n"),
    (lambda: ensembles.bagging_predictions(None, np.zeros((4, 1)), np.zeros(4), np.zeros((2, 1)),
                                    np.array([[0, 9]])), "indices"),
    (lambda: ensembles.fit_full_tree_1d([0.0, 1.0], [1.0]), "y"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_constant_features_give_one_leaf():
    X, y = np.ones((5, 2)), np.arange(5.0)
    assert ensembles.fit_stump(X, y)[2] == pytest.approx(2.0)
    assert np.allclose(ensembles.predict_stump(ensembles.fit_stump(X, y), X), 2.0)


def test_figure_in_place_redraws_match_fresh_ones(persistent_frames_match):
    ens = ensembles.ensemble_experiment(n_members=10, n_repeats=5)
    persistent_frames_match(lambda clear: widgets.interactive(
        lambda fig, n_members: ensembles.draw_ensembles(fig, n_members, ens), clear=clear,
        n_members=widgets.IntSlider(1, 10, 3, static=[1, 2, 3, 5, 10])))
    fig = widgets.interactive(lambda fig, n_members: ensembles.draw_ensembles(fig, n_members, ens),
                              clear=False, n_members=widgets.IntSlider(1, 10, 3))
    for m in (1, 10):                                    # the slider's two ends draw
        assert fig.render(n_members=m)[:4] == b"\x89PNG"
