"""Edge cases of dlbook.fundamentals.elastic_net (issue 8): stopping at max_iter warns, as
scikit-learn's ConvergenceWarning does, and the result then equals scikit-learn's after as many sweeps."""
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.linear_model import ElasticNet

from dlbook import fundamentals as fm


def _data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((30, 6))
    X[:, 1] = X[:, 0] + 0.01 * rng.standard_normal(30)       # near-collinear: slow coordinate descent
    return X, X @ np.array([2.0, -1.0, 0.5, 0.0, 0.0, 1.0]) + 0.1 * rng.standard_normal(30)


def test_stopping_at_max_iter_warns_like_sklearn():
    X, y = _data()
    with pytest.warns(fm.ConvergenceWarning, match="max_iter"):
        w, b = fm.elastic_net(X, y, 0.01, 0.5, max_iter=3)
    with pytest.warns(SklearnConvergenceWarning):
        ref = ElasticNet(alpha=0.01, l1_ratio=0.5, max_iter=3, tol=1e-12).fit(X, y)
    np.testing.assert_allclose(w, ref.coef_, rtol=1e-10, atol=1e-12)    # 3 sweeps in both
    assert b == pytest.approx(ref.intercept_, rel=1e-10)
    assert issubclass(fm.ConvergenceWarning, UserWarning)


def test_a_converged_fit_does_not_warn_and_matches_sklearn():
    X, y = _data(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        w, b = fm.elastic_net(X, y, 0.05, 0.7, tol=1e-12)
    ref = ElasticNet(alpha=0.05, l1_ratio=0.7, tol=1e-14, max_iter=100_000).fit(X, y)
    np.testing.assert_allclose(w, ref.coef_, rtol=1e-8, atol=1e-10)
