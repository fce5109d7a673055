"""Edge cases of dlbook.hpsearch (issue 8): the grid never exceeds the trial budget, and NaN
observations are rejected instead of silently turning expected improvement into NaN."""
import math

import numpy as np
import pytest

from dlbook import hpsearch


@pytest.mark.parametrize("n, D", [(1, 2), (3, 2), (4, 2), (8, 2), (15, 2), (16, 2), (24, 2), (99, 2),
                                  (100, 2), (7, 3), (8, 3), (26, 3), (27, 3), (63, 3), (64, 3), (125, 3),
                                  (5, 1), (80, 4), (81, 4)])
def test_grid_uses_floor_of_the_root_and_never_exceeds_the_budget(n, D):
    # Defect 6: round(n^(1/D)) gave 4 points for 3 trials, 16 for 15, 100 for 99.
    bounds = [(0.0, 1.0)] * D
    k = max(j for j in range(1, n + 1) if j ** D <= n)               # ⌊n^(1/D)⌋ by exact integers
    for P in (hpsearch.grid_points(bounds, n), hpsearch.shifted_grid_points(bounds, n, rng=1)):
        assert P.shape == (k ** D, D) and len(P) <= n
        assert all(len(np.unique(P[:, i])) == k for i in range(D))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_observations_raise_naming_the_argument(bad):
    # Defect 7: one NaN made every expected improvement NaN and the search silently random.
    X = np.array([[0.1, 0.2], [0.5, 0.5], [0.9, 0.1]])
    y = np.array([1.0, bad, 0.5])
    with pytest.raises(ValueError, match="y_obs"):
        hpsearch.gp_posterior(X, y, X)
    with pytest.raises(ValueError, match="y_obs"):
        hpsearch.log_marginal_likelihood(X, y, 0.2)
    with pytest.raises(ValueError, match="X_obs"):
        hpsearch.gp_posterior(np.where(X == 0.5, bad, X), np.ones(3), X)
    with pytest.raises(ValueError, match="X_query"):
        hpsearch.gp_posterior(X, np.ones(3), np.where(X == 0.5, bad, X))
    opt = hpsearch.BayesOpt([(0.0, 1.0), (0.0, 1.0)], n_init=2)
    opt.tell(opt.ask(), 1.0)
    with pytest.raises(ValueError, match="value"):
        opt.tell(opt.ask(), bad)
    with pytest.raises(ValueError, match="point"):
        opt.tell([0.5, bad], 1.0)
    assert len(opt.y) == len(opt.X) == 1                              # nothing half-recorded


def test_a_rejected_objective_value_stops_bayes_search():
    def objective(a, b):
        return math.nan if a > 0.5 else a + b
    with pytest.raises(ValueError, match="value"):
        hpsearch.bayes_search(objective, [(0.0, 1.0), (0.0, 1.0)], 20, rng=0)
