"""Edge cases of dlbook.ensembles.fit_stump (issue 8): a midpoint threshold that rounds onto the
upper value or overflows must fall back to the lower value, as scikit-learn's splitter does."""
import math

import numpy as np
import pytest
from sklearn.tree import DecisionTreeRegressor

from dlbook import ensembles


@pytest.mark.parametrize("lo, hi", [
    (1.0, 1.0 + 2.0 ** -52),                 # midpoint 1 + 1.5·2⁻⁵² rounds to hi
    (1.0 + 2.0 ** -52, 1.0 + 2.0 ** -51),    # rounds to hi (ties to even)
    (1e308, 1.7e308),                        # (lo + hi)/2 overflows to inf
    (-1.7e308, -1e308),                      # ... to −inf
    (-1e308, 1e308),
    (5e-324, 1e-323),                        # subnormals: midpoint rounds onto a value
])
def test_threshold_falls_back_to_the_lower_value(lo, hi):
    # Defect 5: the threshold landed on hi (or ±inf), the right leaf was empty, predictions NaN.
    X = np.array([[lo], [hi], [lo], [hi]])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    j, t, left, right = ensembles.fit_stump(X, y)
    assert j == 0 and math.isfinite(t) and lo <= t < hi
    assert (left, right) == (0.0, 1.0)
    np.testing.assert_array_equal(ensembles.predict_stump((j, t, left, right), X), y)
    f0, stumps, lr = ensembles.gradient_boosting(X, y, 3)
    assert np.all(np.isfinite(ensembles.staged_predict_boosting((f0, stumps, lr), X)))


def test_ordinary_thresholds_still_match_sklearn():
    # the fallback never triggers on ordinary data: same threshold as sklearn's midpoint
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3)).astype(np.float32).astype(np.float64)   # sklearn works in float32
    y = np.sin(3 * X[:, 1]) + 0.1 * rng.standard_normal(40)
    j, t, left, right = ensembles.fit_stump(X, y)
    tree = DecisionTreeRegressor(max_depth=1).fit(X, y).tree_
    assert j == tree.feature[0]
    assert t == pytest.approx(tree.threshold[0], rel=0, abs=1e-12)
    assert (left, right) == pytest.approx((tree.value[1, 0, 0], tree.value[2, 0, 0]), rel=1e-12)
