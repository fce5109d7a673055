"""Ensembles from scratch, on one feature or many: bagging (bootstrap samples of full-depth
trees, averaged) and least-squares gradient boosting with stumps, and how each moves bias² and
variance as members are added (the experiment of chapter 1).

NumPy only; `fit_stump` matches a depth-1 scikit-learn tree and `gradient_boosting` matches
`GradientBoostingRegressor(max_depth=1)`.
"""
import math

import numpy as np

from dlbook import plot
from dlbook.checks import check_Xy, check_int, check_real, finite_array
from dlbook.fundamentals import bias_variance, sample_data, true_function
from dlbook.util import as_generator

# -- stumps and boosting -----------------------------------------------------------------------
def fit_stump(X, y):
    """Best single split (feature j, threshold t, left mean, right mean) for squared error.

    Thresholds are midpoints between sorted distinct values, like sklearn's trees. (n, p) -> tuple.
    """
    X, y = check_Xy(X, y)
    n, p = X.shape
    order = np.argsort(X, axis=0, kind="stable")           # (n, p)
    xs, ys = np.take_along_axis(X, order, 0), y[order]      # sorted features, matching targets
    left_n = np.arange(1, n)[:, None]                       # (n-1, 1) rows left of each cut
    left_sum = np.cumsum(ys, 0)[:-1]                        # (n-1, p)
    right_sum = y.sum() - left_sum
    # SSE = Σy² - (S_L²/n_L + S_R²/n_R): maximise the second term
    gain = left_sum ** 2 / left_n + right_sum ** 2 / (n - left_n)
    gain[xs[1:] <= xs[:-1]] = -np.inf                       # cannot cut between equal values
    if not np.isfinite(gain).any():                         # every feature constant: one leaf
        return 0, math.inf, float(y.mean()), float(y.mean())
    i, j = np.unravel_index(np.argmax(gain), gain.shape)
    t = xs[i, j] / 2 + xs[i + 1, j] / 2                     # no overflow for values near ±1.8e308
    if t == xs[i + 1, j] or not np.isfinite(t):             # rounded onto the upper value: as
        t = xs[i, j]                                        # sklearn, cut at the lower one
    left = X[:, j] <= t
    return int(j), float(t), float(y[left].mean()), float(y[~left].mean())


def predict_stump(stump, X):
    """Left value where X[:, j] <= t, else right value."""
    j, t, left, right = stump
    X = finite_array("X", X, 2)
    return np.where(X[:, j] <= t, left, right)


def gradient_boosting(X, y, n_rounds, lr=0.1):
    """Least-squares boosting with stumps: F₀ = mean(y), F_m = F_{m-1} + lr·stump fitted to y - F_{m-1}.

    Returns (f0, stumps); sklearn's GradientBoostingRegressor(max_depth=1) does the same.
    """
    X, y = check_Xy(X, y)
    n_rounds, lr = check_int("n_rounds", n_rounds, 1), check_real("lr", lr, 0.0)
    if lr == 0:
        raise ValueError("lr must be > 0")
    f0, stumps = float(y.mean()), []
    F = np.full(len(y), f0)
    for _ in range(n_rounds):
        s = fit_stump(X, y - F)                             # fit the residuals (negative gradient)
        stumps.append(s)
        F = F + lr * predict_stump(s, X)
    return f0, stumps, lr


def staged_predict_boosting(model, X):
    """Predictions after 1, 2, ..., M rounds: (M, n)."""
    f0, stumps, lr = model
    X = finite_array("X", X, 2)
    steps = np.array([predict_stump(s, X) for s in stumps])   # (M, n)
    return f0 + lr * np.cumsum(steps, 0)


def bootstrap_indices(n, n_models, rng=None):
    """(n_models, n) row indices drawn with replacement: one bootstrap sample per model."""
    n, n_models = check_int("n", n, 1), check_int("n_models", n_models, 1)
    return as_generator(rng).integers(0, n, (n_models, n))


def fit_full_tree_1d(x, y):
    """A regression tree grown until its leaves are pure, on one feature: (thresholds, leaf values).

    Every distinct x ends in its own leaf (value = mean y there), cut at midpoints, so the
    tree is nearest-neighbour regression: zero training error, as much variance as it gets.
    """
    x, y = finite_array("x", x, 1), finite_array("y", y, 1)
    if x.shape != y.shape or len(x) == 0:
        raise ValueError(f"y must have the shape of x {x.shape} (non-empty), got {y.shape}")
    xs, inverse = np.unique(x, return_inverse=True)              # sorted distinct values
    values = np.bincount(inverse, y) / np.bincount(inverse)      # mean y per distinct x
    return (xs[1:] + xs[:-1]) / 2, values


def predict_full_tree_1d(tree, x):
    """Leaf value for each x: go right past every threshold t with x > t."""
    thresholds, values = tree
    return values[np.searchsorted(thresholds, finite_array("x", x, 1), side="left")]


def bagging_predictions(fit_predict, X, y, X_test, indices):
    """Member predictions (M, G): member i is `fit_predict(X[idx], y[idx], X_test)`, idx = indices[i].

    The bagged prediction is their mean over axis 0 (regression) — averaging cuts variance.
    """
    X, y = check_Xy(X, y)
    indices = np.asarray(indices)
    if (indices.ndim != 2 or not np.issubdtype(indices.dtype, np.integer)
            or indices.size and (indices.min() < 0 or indices.max() >= len(y))):
        raise ValueError(f"indices must be a 2-D int array of row numbers in [0, {len(y)})")
    return np.array([fit_predict(X[idx], y[idx], X_test) for idx in indices])


def _full_tree_fit_predict(X, y, X_test):
    return predict_full_tree_1d(fit_full_tree_1d(X[:, 0], y), X_test[:, 0])


def ensemble_experiment(n_train=100, noise=0.3, n_members=100, n_repeats=50, n_test=100,
                        lr=0.1, seed=0):
    """Bias² and variance of bagged full trees and boosted stumps vs ensemble size.

    Each repeat draws a fresh training set; bagging averages full-depth trees fitted on
    bootstrap samples, boosting adds `lr`-scaled stumps. Arrays 'bag', 'boost': (R, M, G);
    'stump' (R, G) is one unscaled stump (lr 1) on the same training sets, for reference.
    """
    rng = np.random.default_rng(seed)
    x_test = np.linspace(-1, 1, n_test)
    bag, boost, stump, first = [], [], [], None
    for r in range(n_repeats):
        x, y = sample_data(n_train, noise, rng)
        first = first or (x, y)
        X, X_test = x[:, None], x_test[:, None]
        idx = bootstrap_indices(n_train, n_members, rng)
        members = bagging_predictions(_full_tree_fit_predict, X, y, X_test, idx)   # (M, G)
        bag.append(np.cumsum(members, 0) / np.arange(1, n_members + 1)[:, None])
        boost.append(staged_predict_boosting(gradient_boosting(X, y, n_members, lr), X_test))
        stump.append(predict_stump(fit_stump(X, y), X_test))   # = one boosting round with lr 1
    out = {"bag": np.array(bag), "boost": np.array(boost), "stump": np.array(stump), "x_test": x_test,
           "f_test": true_function(x_test), "x": first[0], "y": first[1]}
    for key in ("bag", "boost"):                       # out[key]: (R, M, G), one split per size M
        parts = [bias_variance(out[key][:, m], out["f_test"]) for m in range(n_members)]
        out[f"{key}_bias2"] = np.array([d["bias2"] for d in parts])                 # (M,)
        out[f"{key}_var"] = np.array([d["variance"] for d in parts])                # (M,)
    parts = bias_variance(out["stump"], out["f_test"])
    out["stump_bias2"], out["stump_var"] = parts["bias2"], parts["variance"]       # scalars
    return out


# -- interactive figure (clear=False: build the axes once, then only update artists) ----------
def draw_ensembles(fig, n_members, ens):
    """Bagged full trees vs boosted stumps as members are added: fits and bias²/variance.

    `ens` comes from ensemble_experiment. Use with clear=False.
    """
    k = n_members - 1
    m = np.arange(1, ens["bag"].shape[1] + 1)
    st = plot.artists(fig, "ensembles")
    if st is None:
        fig.clear()
        ax1, ax2 = fig.subplots(1, 2)
        st = plot.keep_artists(fig, "ensembles", ax1=ax1, ax2=ax2)
        ax1.plot(ens["x"], ens["y"], "o", ms=2.5, color=plot.COLORS[7], alpha=0.5)
        ax1.plot(ens["x_test"], ens["f_test"], "k--", lw=1.2, label="truth")
        st["bag"], = ax1.plot(ens["x_test"], ens["bag"][0, k], color=plot.COLORS[0], label="bag")
        st["boost"], = ax1.plot(ens["x_test"], ens["boost"][0, k], color=plot.COLORS[1],
                                label="boost")
        ax1.set(ylim=(-2.5, 2.5), xlabel="x", title="fits to one training set")
        st["leg"] = ax1.legend(fontsize=7, loc="lower left")
        for key, c in (("bag", 0), ("boost", 1)):
            name = "bagging" if key == "bag" else "boosting"
            ax2.plot(m, np.maximum(ens[f"{key}_bias2"], 1e-4), "--", color=plot.COLORS[c],   # 0 at the floor
                     label=f"{name} bias²")
            ax2.plot(m, ens[f"{key}_var"], "-", color=plot.COLORS[c], label=f"{name} variance")
        st["v"] = ax2.axvline(1, color="k", lw=0.8)
        plot.log_yaxis(ax2, 1e-4, 1e0, every=1)
        ax2.set(xscale="log", xlim=(1, m[-1]), xlabel="ensemble members")
        plot.few_ticks(ax1, ax2)
        ax2.legend(fontsize=7, ncol=2, loc="lower left")
    st["bag"].set_ydata(ens["bag"][0, k])
    st["boost"].set_ydata(ens["boost"][0, k])
    st["leg"].get_texts()[1].set_text(f"bagging {n_members} full trees")
    st["leg"].get_texts()[2].set_text(f"boosting {n_members} stumps")
    st["v"].set_xdata([n_members] * 2)
    st["ax2"].set_title(f"bagging: bias² {ens['bag_bias2'][k]:.3f}, var {ens['bag_var'][k]:.3f}\n"
                        f"boosting: bias² {ens['boost_bias2'][k]:.3f}, var {ens['boost_var'][k]:.3f}",
                        fontsize=9)
