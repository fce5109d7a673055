"""ML fundamentals from scratch: bias-variance, data splits, k-fold CV, ridge/lasso/elastic net,
and what reusing a test set for model selection does (bagging and boosting: `dlbook.ensembles`).

NumPy first. Penalised regression uses the glmnet / scikit-learn scaling
    J(w, b) = 1/(2n) ||y - Xw - b||² + lam * (l1_ratio ||w||₁ + (1 - l1_ratio)/2 ||w||²),
so `elastic_net(X, y, lam, r)` is `sklearn.linear_model.ElasticNet(alpha=lam, l1_ratio=r)`,
`lasso(X, y, lam)` is `Lasso(alpha=lam)` and `ridge(X, y, lam)` is `Ridge(alpha=n * lam)`.
"""
import math
import warnings

import numpy as np
from matplotlib.ticker import MaxNLocator
from numpy.polynomial import legendre

from dlbook import plot
from dlbook.checks import check_Xy, check_int, check_real, finite_array
from dlbook.util import as_generator


# -- polynomial regression and the bias-variance decomposition -------------------------------
def true_function(x):
    """The smooth curve behind the synthetic data: f(x) = sin(1.5 π x) on [-1, 1]."""
    return np.sin(1.5 * np.pi * np.asarray(x, dtype=np.float64))


def sample_data(n, noise, rng=None):
    """n points x ~ U(-1, 1), y = f(x) + noise·ε with ε ~ N(0, 1). Returns (x, y)."""
    n, noise, rng = check_int("n", n, 1), check_real("noise", noise, 0.0), as_generator(rng)
    x = rng.uniform(-1, 1, n)
    return x, true_function(x) + noise * rng.standard_normal(n)


def polynomial_features(x, degree):
    """Vandermonde matrix [1, x, x², ..., x^degree]: (n,) -> (n, degree + 1)."""
    x, degree = finite_array("x", x, 1), check_int("degree", degree, 0)
    return x[:, None] ** np.arange(degree + 1)


def fit_polynomial(x, y, degree):
    """Least-squares coefficients w (lowest power first) of a degree-`degree` polynomial.

    Solved in the Legendre basis (same polynomials, far better conditioned than x^k) and
    converted back; when degree + 1 > n this is the minimum-norm interpolant's Legendre fit.
    """
    x, y = finite_array("x", x, 1), finite_array("y", y, 1)
    degree = check_int("degree", degree, 0)
    if x.shape != y.shape:
        raise ValueError(f"y must have the shape of x {x.shape}, got {y.shape}")
    c, *_ = np.linalg.lstsq(legendre.legvander(x, degree), y, rcond=None)
    return legendre.leg2poly(c)


def predict_polynomial(w, x):
    """sum_k w_k x^k for every x."""
    w, x = finite_array("w", w, 1), finite_array("x", x, 1)
    return polynomial_features(x, len(w) - 1) @ w


def bias_variance(y_hat, f, y=None, noise=None):
    """Decompose the expected squared error of predictions refitted on R resampled training sets.

    y_hat (R, G): prediction of refit r at test point g; f (G,): true values; y (R, G): fresh
    noisy targets (optional). variance = mean_g var_r y_hat (ddof=1, unbiased). The mean of R
    refits is itself noisy, so bias2_naive = mean_g (mean_r y_hat - f)² overshoots bias² by
    variance/R on average; bias2 = max(bias2_naive - variance/R, 0) removes that. noise = mean
    (y - f)² measured (or `noise`² given). Returns a dict with 'mse' when y is given.
    """
    y_hat, f = finite_array("y_hat", y_hat, 2), finite_array("f", f, 1)
    if y_hat.shape[1] != f.shape[0]:
        raise ValueError(f"f must have one value per column of y_hat ({y_hat.shape[1]}), got {f.shape}")
    if y_hat.shape[0] < 2:
        raise ValueError(f"y_hat must hold at least 2 refits (rows), got {y_hat.shape[0]}")
    R = y_hat.shape[0]
    variance = float(np.mean(y_hat.var(0, ddof=1)))
    bias2_naive = float(np.mean((y_hat.mean(0) - f) ** 2))
    out = {"bias2": max(bias2_naive - variance / R, 0.0), "variance": variance,
           "bias2_naive": bias2_naive}
    if y is not None:
        y = finite_array("y", y, 2)
        if y.shape != y_hat.shape:
            raise ValueError(f"y must have the shape of y_hat {y_hat.shape}, got {y.shape}")
        out["noise"] = float(np.mean((y - f) ** 2))
        out["mse"] = float(np.mean((y_hat - y) ** 2))
    elif noise is not None:
        out["noise"] = check_real("noise", noise, 0.0) ** 2
    return out


def polynomial_experiment(n_train, degrees=range(21), n_repeats=200, n_test=100, seed=0):
    """Refit every degree on `n_repeats` resampled training sets; keep the noise part separate.

    Least squares is linear in y, so with y = f(x) + σε the prediction is A + σB, A fitted
    to f(x) and B to ε. Storing A and B makes any noise level σ a free re-weighting
    (see `polynomial_errors`). Arrays: train (D, R, n), test (D, R, G).
    """
    n_train, n_repeats = check_int("n_train", n_train, 1), check_int("n_repeats", n_repeats, 2)
    degrees = [check_int("degrees", d, 0) for d in degrees]
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n_repeats, n_train))             # (R, n) resampled inputs
    eps = rng.standard_normal((n_repeats, n_train))          # (R, n) unit noise
    x_test = np.linspace(-1, 1, n_test)                      # (G,)
    eps_test = rng.standard_normal((n_repeats, n_test))      # fresh noise for the test targets
    out = {k: [] for k in ("A_train", "B_train", "A_test", "B_test")}
    for d in degrees:
        P = np.linalg.pinv(legendre.legvander(x, d))         # (R, d+1, n) least-squares operator
        V_test = legendre.legvander(x_test, d)               # (G, d+1)
        for part, target in (("A", true_function(x)), ("B", eps)):
            c = np.einsum("rkn,rn->rk", P, target)           # (R, d+1) coefficients
            out[f"{part}_train"].append(np.einsum("rnk,rk->rn", legendre.legvander(x, d), c))
            out[f"{part}_test"].append(c @ V_test.T)
    out = {k: np.stack(v) for k, v in out.items()}
    out.update(degrees=np.array(degrees), x=x, eps=eps, x_test=x_test,
               f_test=true_function(x_test), eps_test=eps_test)
    return out


def polynomial_errors(exp, noise):
    """Per degree: train MSE, expected test MSE, bias², variance and noise at level `noise`.

    bias² and variance as in `bias_variance` (bias² corrected for the R-refit mean's own noise).
    """
    noise = check_real("noise", noise, 0.0)
    y_train = true_function(exp["x"]) + noise * exp["eps"]           # (R, n)
    y_test = exp["f_test"] + noise * exp["eps_test"]                  # (R, G)
    pred_train = exp["A_train"] + noise * exp["B_train"]              # (D, R, n)
    pred_test = exp["A_test"] + noise * exp["B_test"]                 # (D, R, G)
    R = pred_test.shape[1]
    variance = np.mean(pred_test.var(1, ddof=1), axis=1)              # (D,) unbiased
    bias2_naive = np.mean((pred_test.mean(1) - exp["f_test"]) ** 2, axis=1)
    return {"train": np.mean((pred_train - y_train) ** 2, axis=(1, 2)),
            "test": np.mean((pred_test - y_test) ** 2, axis=(1, 2)),
            "bias2": np.maximum(bias2_naive - variance / R, 0.0),   # as bias_variance
            "bias2_naive": bias2_naive, "variance": variance,
            # E[B | x] = 0, so the average model is E[A]: the noise-free part alone gives bias²
            # with Monte-Carlo error var(A)/R instead of var(A + σB)/R
            "bias2_noise_free": np.maximum(np.mean((exp["A_test"].mean(1) - exp["f_test"]) ** 2, axis=1)
                                           - np.mean(exp["A_test"].var(1, ddof=1), axis=1) / R, 0.0),
            "noise": np.full(len(exp["degrees"]), np.mean((y_test - exp["f_test"]) ** 2))}


# -- data splits and cross-validation ---------------------------------------------------------
def train_val_test_split(n, val=0.2, test=0.2, rng=None):
    """Shuffled, disjoint index arrays (train, val, test) covering range(n); sizes round down."""
    n = check_int("n", n, 3)
    val, test = check_real("val", val, 0.0, 1.0), check_real("test", test, 0.0, 1.0)
    if val + test >= 1:
        raise ValueError(f"val + test must be < 1, got val={val}, test={test}")
    n_val, n_test = int(n * val), int(n * test)
    perm = as_generator(rng).permutation(n)
    return perm[n_val + n_test:], perm[:n_val], perm[n_val:n_val + n_test]


def kfold_indices(n, k=5, shuffle=False, rng=None):
    """[(train_idx, val_idx)] for k folds; the first n % k folds get one extra row (as KFold)."""
    n, k = check_int("n", n, 1), check_int("k", k, 2)
    if k > n:
        raise ValueError(f"k must be <= n ({n}), got {k}")
    order = as_generator(rng).permutation(n) if shuffle else np.arange(n)
    sizes = np.full(k, n // k) + (np.arange(k) < n % k)     # fold sizes, sum = n
    stops = np.cumsum(sizes)
    folds = []
    for start, stop in zip(stops - sizes, stops):
        val_idx = order[start:stop]
        folds.append((np.concatenate([order[:start], order[stop:]]), val_idx))
    return folds


def cross_val_scores(fit, score, X, y, k=5, shuffle=False, rng=None):
    """Score of `fit(X_train, y_train)` on each held-out fold: `score(model, X_val, y_val)`."""
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"y must have one entry per row of X ({len(X)}), got {len(y)}")
    return np.array([score(fit(X[tr], y[tr]), X[va], y[va])
                     for tr, va in kfold_indices(len(X), k, shuffle, rng)])


def stratified_kfold_indices(y, k=5):
    """k folds whose class counts differ by at most one row (as sklearn's StratifiedKFold).

    Rows sorted by class (classes in order of first appearance) are dealt to the folds like
    cards, which fixes how many rows of each class a fold gets; each class then fills its folds
    with its rows in order. Returns [(train_idx, val_idx)].
    """
    y = np.asarray(y)
    k = check_int("k", k, 2)
    if y.ndim != 1 or len(y) < k:
        raise ValueError(f"y must be 1-D with at least k={k} entries, got shape {y.shape}")
    _, first, inverse = np.unique(y, return_index=True, return_inverse=True)
    code = np.argsort(np.argsort(first))[inverse]            # class number by first appearance
    n_classes = code.max() + 1
    dealt = np.sort(code)                                     # (n,) labels grouped by class
    counts = np.array([np.bincount(dealt[f::k], minlength=n_classes) for f in range(k)])  # (k, C)
    fold = np.empty(len(y), dtype=int)
    for c in range(n_classes):
        fold[code == c] = np.repeat(np.arange(k), counts[:, c])
    return [(np.flatnonzero(fold != f), np.flatnonzero(fold == f)) for f in range(k)]


def time_series_splits(n, k=5):
    """Forward chaining (as sklearn's TimeSeriesSplit): validate on block i, train on all before it.

    The last k blocks of n // (k + 1) rows are the validation sets; training never sees the future.
    """
    n, k = check_int("n", n, 2), check_int("k", k, 2)
    size = n // (k + 1)
    if size < 1:
        raise ValueError(f"k must be < n ({n}), got {k}")
    starts = n - k * size + size * np.arange(k)
    return [(np.arange(start), np.arange(start, start + size)) for start in starts]


def nested_cv(fit, score, candidates, X, y, k_outer=5, k_inner=5):
    """Outer k-fold scores of 'choose the best candidate by inner k-fold CV, refit, score'.

    fit(candidate, X, y) -> model; score(model, X, y) -> higher is better. The inner CV runs on
    the outer training rows only, so the outer score never saw the data that chose the model.
    Returns (outer scores (k_outer,), chosen candidate index per outer fold).
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"y must have one entry per row of X ({len(X)}), got {len(y)}")
    if len(candidates) == 0:
        raise ValueError("candidates must not be empty")
    scores, chosen = [], []
    for tr, va in kfold_indices(len(y), k_outer):
        inner = [np.mean(cross_val_scores(lambda Xt, yt: fit(c, Xt, yt), score, X[tr], y[tr], k_inner))
                 for c in candidates]
        best = int(np.argmax(inner))                          # first of the best, as GridSearchCV
        chosen.append(best)
        scores.append(score(fit(candidates[best], X[tr], y[tr]), X[va], y[va]))
    return np.array(scores), np.array(chosen)


def ridge_loo_residuals(X, y, alpha):
    """Leave-one-out residuals of ridge regression without refitting: e_i / (1 - h_ii).

    Ridge with an unpenalised intercept and penalty alpha·||w||² on the sum of squares
    (scikit-learn's Ridge(alpha)) is a linear smoother y_hat = H y; deleting row i changes its
    prediction to y_i - e_i / (1 - h_ii). Returns (n,) residuals y_i - y_hat_(-i).
    """
    X, y = check_Xy(X, y)
    alpha = check_real("alpha", alpha, 0.0)
    A = np.hstack([np.ones((len(y), 1)), X])                 # (n, p+1): intercept column first
    P = alpha * np.eye(A.shape[1])
    P[0, 0] = 0.0                                             # the intercept is not penalised
    H = A @ np.linalg.lstsq(A.T @ A + P, A.T, rcond=None)[0]  # (n, n) hat matrix
    return (y - H @ y) / (1 - np.diag(H))


def double_descent(n_train=40, widths=(5, 10, 20, 40, 80), n_features=400, noise=0.3,
                   decay=0.8, n_seeds=20, seed=0):
    """Test MSE of minimum-norm least squares that uses the first p of n_features Gaussian inputs.

    y = x·β + noise·ε with x ~ N(0, I) and β_j ∝ j^(-decay) (||β|| = 1). The fit is lstsq
    (min-norm once p > n_train); with isotropic x the expected test MSE is exactly
    ||β - w||² + noise². Returns (n_seeds, len(widths)).
    """
    n_train, n_features = check_int("n_train", n_train, 1), check_int("n_features", n_features, 1)
    widths = [check_int("widths", p, 1, n_features) for p in widths]
    noise, n_seeds = check_real("noise", noise, 0.0), check_int("n_seeds", n_seeds, 1)
    beta = np.arange(1, n_features + 1) ** -check_real("decay", decay, 0.0)
    beta /= np.linalg.norm(beta)
    rng = np.random.default_rng(seed)
    out = np.zeros((n_seeds, len(widths)))
    for s in range(n_seeds):
        X = rng.standard_normal((n_train, n_features))
        y = X @ beta + noise * rng.standard_normal(n_train)
        for i, p in enumerate(widths):
            err = beta.copy()
            err[:p] -= np.linalg.lstsq(X[:, :p], y, rcond=None)[0]   # unused features: w = 0
            out[s, i] = err @ err + noise ** 2
    return out


# -- ridge, lasso, elastic net ----------------------------------------------------------------
class ConvergenceWarning(UserWarning):
    """An iterative solver stopped at its iteration cap (scikit-learn's ConvergenceWarning)."""


def _center(X, y, fit_intercept):
    if not fit_intercept:
        return X, y, np.zeros(X.shape[1]), 0.0
    x_mean, y_mean = X.mean(0), y.mean()
    return X - x_mean, y - y_mean, x_mean, y_mean


def ridge(X, y, lam, fit_intercept=True):
    """Closed form of min 1/(2n)||y - Xw - b||² + lam/2 ||w||²: w = (XᵀX + n·lam·I)⁻¹ Xᵀy (centred)."""
    X, y = check_Xy(X, y)
    lam = check_real("lam", lam, 0.0)
    Xc, yc, x_mean, y_mean = _center(X, y, fit_intercept)
    n, p = X.shape
    w = np.linalg.lstsq(Xc.T @ Xc + n * lam * np.eye(p), Xc.T @ yc, rcond=None)[0]
    return w, y_mean - x_mean @ w


def elastic_net(X, y, lam, l1_ratio=0.5, fit_intercept=True, w0=None, tol=1e-10,
                max_iter=10_000):
    """Cyclic coordinate descent on the elastic-net objective (module docstring). Returns (w, b).

    Update of w_j: soft-threshold(ρ_j, lam·l1_ratio) / (‖x_j‖²/n + lam·(1 - l1_ratio)),
    ρ_j = x_jᵀ(r + x_j w_j)/n with r the current residual. The threshold gives exact zeros.
    Stopping at max_iter sweeps returns the current w with a ConvergenceWarning, as scikit-learn does.
    """
    X, y = check_Xy(X, y)
    lam = check_real("lam", lam, 0.0)
    l1_ratio = check_real("l1_ratio", l1_ratio, 0.0, 1.0)
    tol, max_iter = check_real("tol", tol, 0.0), check_int("max_iter", max_iter, 1)
    Xc, yc, x_mean, y_mean = _center(X, y, fit_intercept)
    n, p = X.shape
    w = np.zeros(p) if w0 is None else finite_array("w0", w0, 1).copy()
    if w.shape != (p,):
        raise ValueError(f"w0 must have shape ({p},), got {w.shape}")
    G, c = Xc.T @ Xc / n, Xc.T @ yc / n                  # Gram (p, p) and Xᵀy/n (p,)
    l1, l2 = lam * l1_ratio, lam * (1 - l1_ratio)
    for sweep in range(max_iter):
        max_step = 0.0
        for j in range(p):
            if G[j, j] + l2 == 0:                          # constant column, no ridge: stays 0
                continue
            rho = c[j] - G[j] @ w + G[j, j] * w[j]
            w_j = 0.0 if abs(rho) <= l1 else (rho - math.copysign(l1, rho)) / (G[j, j] + l2)
            max_step = max(max_step, abs(w_j - w[j]))
            w[j] = w_j
        if max_step <= tol * max(1.0, np.abs(w).max()):
            break
        if sweep % 10 == 9 and _solve_on_support(G, c, l1, l2, w):   # slow (correlated X):
            break                                                     # finish exactly
    else:   # as scikit-learn: the result is returned, but not silently
        warnings.warn(f"elastic_net stopped at max_iter = {max_iter} sweeps before the largest "
                      f"step fell below tol = {tol:g}; raise max_iter or tol",
                      ConvergenceWarning, stacklevel=2)
    return w, y_mean - x_mean @ w


def _solve_on_support(G, c, l1, l2, w):
    """If the signs of w are those of the optimum, the optimum solves a linear system.

    On the support A with signs s: (G_AA + l2·I) w_A = c_A - l1·s. Accept (write into w, return
    True) only if the solution keeps the signs and every zero weight passes |c_j - G_j·w| <= l1
    (the optimality conditions); otherwise leave w alone and return False.
    """
    A = np.flatnonzero(w)
    if len(A) == 0:
        return False
    s = np.sign(w[A])
    G_AA = G[np.ix_(A, A)] + l2 * np.eye(len(A))
    try:
        w_A = np.linalg.solve(G_AA, c[A] - l1 * s)
    except np.linalg.LinAlgError:
        return False
    if np.any(np.sign(w_A) != s):
        return False
    w_new = np.zeros_like(w)
    w_new[A] = w_A
    rest = np.setdiff1d(np.arange(len(w)), A)
    if np.any(np.abs(c[rest] - G[rest] @ w_new) > l1):
        return False
    w[:] = w_new
    return True


def lasso(X, y, lam, **kw):
    """elastic_net with l1_ratio = 1: min 1/(2n)||y - Xw - b||² + lam ||w||₁."""
    return elastic_net(X, y, lam, l1_ratio=1.0, **kw)


def elastic_net_objective(X, y, w, b, lam, l1_ratio):
    """Value of the objective in the module docstring (to compare solvers)."""
    X, y = check_Xy(X, y)
    r = y - X @ np.asarray(w) - b
    return float(r @ r / (2 * len(y)) + lam * (l1_ratio * np.abs(w).sum()
                                               + (1 - l1_ratio) / 2 * np.sum(np.square(w))))


def lambda_max(X, y, l1_ratio=1.0):
    """Smallest lam at which every elastic-net weight is 0: max_j |x_jᵀ(y - ȳ)| / (n·l1_ratio)."""
    X, y = check_Xy(X, y)
    l1_ratio = check_real("l1_ratio", l1_ratio, 0.0, 1.0)
    if l1_ratio == 0:
        return math.inf
    Xc, yc, _, _ = _center(X, y, True)
    return float(np.abs(Xc.T @ yc).max() / (len(y) * l1_ratio))


PENALTIES = {"L2 (ridge)": 0.0, "elastic net (0.5)": 0.5, "L1 (lasso)": 1.0}


def regularization_path(X, y, lams, l1_ratio):
    """Weights (L, p) for each lam (solved from large to small lam with warm starts)."""
    lams = finite_array("lams", lams, 1)
    X, y = check_Xy(X, y)
    l1_ratio = check_real("l1_ratio", l1_ratio, 0.0, 1.0)
    if np.any(lams < 0):
        raise ValueError("lams must be >= 0")
    W = np.zeros((len(lams), X.shape[1]))
    w = None
    for i in np.argsort(-lams):
        w = (ridge(X, y, lams[i])[0] if l1_ratio == 0
             else elastic_net(X, y, lams[i], l1_ratio, w0=w, tol=1e-6)[0])
        W[i] = w
    return W


def regularization_study(X, y, names, lams, k=5):
    """Paths of every penalty in PENALTIES on (X, y) plus their k-fold CV MSE: data for draw_paths."""
    X, y = check_Xy(X, y)
    lams = np.sort(finite_array("lams", lams, 1))
    out = {"X": X, "y": y, "names": list(names), "lams": lams, "W": {}, "cv": {}}
    for penalty, r in PENALTIES.items():
        out["W"][penalty] = regularization_path(X, y, lams, r)
        fold_mse = []
        for tr, va in kfold_indices(len(y), k):
            W = regularization_path(X[tr], y[tr], lams, r)                 # (L, p)
            b = y[tr].mean() - W @ X[tr].mean(0)                            # (L,) intercepts
            fold_mse.append(np.mean((X[va] @ W.T + b - y[va][:, None]) ** 2, axis=0))
        out["cv"][penalty] = np.mean(fold_mse, axis=0)                      # (L,)
    return out


# -- interactive figures (clear=False: build the axes once, then only update artists) ---------
def draw_bias_variance(fig, degree, noise, n_train, experiments, n_show=6):
    """Left: refits (thin blue), their mean (orange), truth (dashed); right: errors vs degree.

    `experiments` maps n_train -> polynomial_experiment(n_train). Use with clear=False.
    """
    exp = experiments[n_train]
    degs = exp["degrees"]
    st = plot.artists(fig, "bias_variance")
    if st is None:
        fig.clear()
        ax1, ax2 = fig.subplots(1, 2)
        st = plot.keep_artists(fig, "bias_variance", ax1=ax1, ax2=ax2)
        st["data"], = ax1.plot([], [], "o", ms=3, color=plot.COLORS[7], alpha=0.6)
        st["fits"] = [ax1.plot([], [], color=plot.COLORS[0], lw=0.8, alpha=0.45)[0]
                      for i in range(n_show)]
        st["mean"], = ax1.plot([], [], color=plot.COLORS[1], lw=2, label="mean of refits")
        xt = np.linspace(-1, 1, 200)
        ax1.plot(xt, true_function(xt), "k--", lw=1.2, label="truth f(x)")
        ax1.set(xlim=(-1, 1), ylim=(-2.5, 2.5), xlabel="x", ylabel="y")
        plot.few_ticks(ax1, ax2)
        st["msg"] = plot.message(ax1, "")
        st["curves"] = {}
        for key, label, c, ls in (("train", "train MSE", 0, "-"), ("test", "test MSE", 1, "-"),
                                  ("bias2_noise_free", "bias²", 2, "--"),
                                  ("variance", "variance", 3, "--")):
            st["curves"][key], = ax2.plot(degs, np.ones(len(degs)), ls, color=plot.COLORS[c],
                                          label=label)
        st["noise"] = ax2.axhline(1.0, color="grey", lw=1, ls=":", label="noise σ²")
        st["vline"] = ax2.axvline(0, color="k", lw=0.8)
        plot.log_yaxis(ax2, 1e-4, 1e4)
        ax2.set(xlabel="polynomial degree", xlim=(degs[0] - 0.3, degs[-1] + 0.3))
        ax2.legend(fontsize=7, ncol=2, loc="upper left")
    if degree not in degs:
        raise ValueError(f"degree must be one of the experiment's degrees {list(degs)}, got {degree!r}")
    d = list(degs).index(degree)
    if st.get("errs_key") != (id(exp), noise):                  # moving the degree reuses them
        st["errs"], st["errs_key"] = polynomial_errors(exp, noise), (id(exp), noise)
    errs = st["errs"]
    xt = exp["x_test"]
    st["data"].set_data(exp["x"][0], true_function(exp["x"][0]) + noise * exp["eps"][0])
    preds = exp["A_test"][d] + noise * exp["B_test"][d]                   # (R, G)
    for line, pred in zip(st["fits"], preds):
        line.set_data(xt, np.clip(pred, -10, 10))
    st["mean"].set_data(xt, np.clip(preds.mean(0), -10, 10))
    st["ax1"].set_title(f"degree {degree}, n = {n_train}, σ = {noise:.2g}")
    st["msg"].set_text(f"degree + 1 ≥ n: each fit passes\nthrough all {n_train} points")
    st["msg"].set_visible(degree + 1 >= n_train)
    for key, line in st["curves"].items():
        line.set_ydata(np.clip(errs[key], 1e-5, 1e4))
    st["noise"].set_ydata([noise ** 2] * 2)
    st["vline"].set_xdata([degree] * 2)
    best = degs[np.argmin(errs["test"])]
    st["ax2"].set_title(f"test MSE {errs['test'][d]:.3g} (best degree {best})")


def plot_penalty_geometry(w_ols=(2.0, 0.8), A=((1.0, 0.6), (0.6, 1.0)), radius=1.0):
    """Loss contours ½(w - w_ols)ᵀA(w - w_ols) against an L1 diamond and an L2 disk of `radius`.

    The constrained optimum is the boundary point of lowest loss (found on 40 001 points,
    corners included). Returns (fig, {"L1": w, "L2": w}).
    """
    w0, A = finite_array("w_ols", w_ols, 1), finite_array("A", A, 2)
    radius = check_real("radius", radius, 0.0, lo_open=True)
    t = np.linspace(0, 2 * np.pi, 40_001)                     # corners at indices 0, 10 000, ...
    diamond = radius * np.stack([np.cos(t), np.sin(t)], 1)
    diamond /= np.abs(diamond).sum(1, keepdims=True) / radius   # |w1| + |w2| = radius, corners at t = kπ/2
    disk = radius * np.stack([np.cos(t), np.sin(t)], 1)
    loss = lambda W: 0.5 * np.einsum("ni,ij,nj->n", W - w0, A, W - w0)
    fig, axes = plot.figure(1, 2, figsize=(8, 3.8))
    g = np.linspace(-2.5, 3.5, 241)
    G1, G2 = np.meshgrid(g, g)
    L = loss(np.stack([G1.ravel(), G2.ravel()], 1)).reshape(G1.shape)
    sol = {}
    for ax, name, B, c in ((axes[0], "L1", diamond, 1), (axes[1], "L2", disk, 2)):
        w = B[np.argmin(loss(B))]
        sol[name] = w
        ax.contour(G1, G2, L, levels=np.sort(np.r_[np.geomspace(0.05, 8, 7), loss(w[None])[0]]),
                   colors=plot.COLORS[7], linewidths=0.7)
        ax.contour(G1, G2, L, levels=[loss(w[None])[0]], colors=plot.COLORS[0], linewidths=1.6)
        ax.fill(B[::100, 0], B[::100, 1], color=plot.COLORS[c], alpha=0.3)   # 400 points draw it
        ax.plot(*w0, "k+", ms=9)
        ax.plot(*w, "o", color=plot.COLORS[c], ms=7)
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.set(aspect="equal", xlim=(-2.5, 3.5), ylim=(-2.5, 3.5), xlabel="w₁", ylabel="w₂",
               title=f"{name} ball: optimum w = ({w[0]:.2f}, {w[1]:.2f})")
    return fig, sol


def draw_paths(fig, lam, penalty, study):
    """Coefficient paths vs λ, the weights at λ (exact zeros counted) and the k-fold CV error.

    `study` comes from regularization_study. Use with clear=False.
    """
    lams, r = study["lams"], PENALTIES[penalty]
    W = study["W"][penalty]                                   # (L, p) on the grid
    X, y = study["X"], study["y"]
    w = (ridge(X, y, lam)[0] if r == 0
         else elastic_net(X, y, lam, r, w0=W[np.argmin(np.abs(np.log(lams / lam)))], tol=1e-6)[0])
    p = W.shape[1]
    st = plot.artists(fig, "paths")
    if st is None:
        fig.clear()
        ax1, ax2, ax3 = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.3, 1, 1]})
        st = plot.keep_artists(fig, "paths", ax1=ax1, ax2=ax2, ax3=ax3)
        colors = [plot.COLORS[j % 8] for j in range(p)]
        st["paths"] = [ax1.plot(lams, W[:, j], lw=1.2, color=colors[j],
                                ls="-" if j < 8 else "--")[0] for j in range(p)]
        lim = max(np.abs(v).max() for v in study["W"].values()) * 1.05
        ax1.set(xscale="log", xlabel="λ", ylabel="weight", ylim=(-lim, lim))
        st["v1"] = ax1.axvline(lam, color="k", lw=0.8)
        st["bars"] = ax2.barh(np.arange(p), np.zeros(p), color=colors)
        ax2.set_yticks(np.arange(p), study["names"], fontsize=7)
        ax2.set(xlim=(-lim, lim))
        st["msg"] = plot.message(ax2, "all weights are 0:\nthe model predicts mean(y)")
        cv_all = np.concatenate(list(study["cv"].values()))
        st["cv"], = ax3.plot(lams, study["cv"][penalty], color=plot.COLORS[1])
        ax3.set(xscale="log", xlabel="λ", ylabel="CV MSE",
                ylim=(cv_all.min() * 0.95, cv_all.max() * 1.05))
        st["v3"] = ax3.axvline(lam, color="k", lw=0.8)
        plot.few_ticks(ax1, ax3)
        ax2.xaxis.set_major_locator(MaxNLocator(3))
    for j, line in enumerate(st["paths"]):
        line.set_ydata(W[:, j])
    for bar, w_j in zip(st["bars"], w):
        bar.set_width(w_j)
    zeros = int(np.sum(w == 0))
    cv = study["cv"][penalty]
    st["cv"].set_ydata(cv)
    for v in (st["v1"], st["v3"]):
        v.set_xdata([lam] * 2)
    st["msg"].set_visible(zeros == p)
    st["ax1"].set_title(f"{penalty} path")
    st["ax2"].set_title(f"λ = {lam:.3g}: {zeros} of {p} weights exactly 0")
    st["ax3"].set_title(f"CV MSE; best λ on grid = {lams[np.argmin(cv)]:.3g}")


def draw_selection(fig, n_models, n_test, selection):
    """The winner picked on the test set vs the same model on fresh data, as models are tried.

    `selection` comes from selection_experiment. Use with clear=False.
    """
    res = selection[n_test]
    bins = np.linspace(0.2, 0.8, 31)
    m = np.arange(1, res["chosen"].shape[1] + 1)
    st = plot.artists(fig, "selection")
    if st is None:
        fig.clear()
        ax1, ax2 = fig.subplots(1, 2)
        st = plot.keep_artists(fig, "selection", ax1=ax1, ax2=ax2)
        st["hist"] = ax1.stairs(np.zeros(len(bins) - 1), bins, fill=True,   # one path: cheap
                                color=plot.COLORS[5])
        st["win"] = ax1.axvline(0.5, color=plot.COLORS[1], lw=2, label="winner on the test set")
        st["fresh"] = ax1.axvline(0.5, color=plot.COLORS[2], lw=2, label="winner on fresh data")
        ax1.set(xlabel="test accuracy", xlim=(0.2, 0.8))
        st["leg"] = ax1.legend(fontsize=7, loc="upper left")
        st["chosen"], = ax2.plot(m, np.zeros(len(m)), color=plot.COLORS[1],
                                 label="best test accuracy (reported)")
        st["fresh_curve"], = ax2.plot(m, np.zeros(len(m)), color=plot.COLORS[2],
                                      label="its accuracy on fresh data")
        ax2.axhline(0.5, color="grey", ls=":", lw=1, label="true accuracy 0.5")
        st["v2"] = ax2.axvline(1, color="k", lw=0.8)
        ax2.set(xscale="log", ylim=(0.4, 0.8), xlim=(1, m[-1]),
                xlabel="models compared on the test set")
        plot.few_ticks(ax1, ax2)
        ax2.legend(fontsize=7, loc="upper left")
    acc = res["acc_test"][0, :n_models]
    counts, _ = np.histogram(acc, bins)
    st["hist"].set_data(counts)
    st["ax1"].set_ylim(0, max(counts.max(), 1) * 1.5)
    won, fresh = res["chosen"][0, n_models - 1], res["fresh"][0, n_models - 1]
    st["win"].set_xdata([won] * 2)
    st["fresh"].set_xdata([fresh] * 2)
    st["leg"].get_texts()[0].set_text(f"winner on the test set: {won:.3f}")
    st["leg"].get_texts()[1].set_text(f"same model, fresh data: {fresh:.3f}")
    st["ax1"].set_title(f"{n_models} models, 1 trial, coin-flip labels")
    st["chosen"].set_ydata(res["chosen"].mean(0))
    st["fresh_curve"].set_ydata(res["fresh"].mean(0))
    st["v2"].set_xdata([n_models] * 2)
    st["ax2"].set_title(f"mean of {res['chosen'].shape[0]} trials, test size {n_test}")


def selection_experiment(n_models=300, n_tests=(50, 200, 1000), n_trials=50, n_train=100,
                         n_features=50, subset=5, n_fresh=2000, seed=0):
    """Pure-noise classification: compare nearest-centroid models on random feature subsets.

    Labels are independent of X, so every model's true accuracy is 0.5. For each trial and m,
    'chosen' is the best test accuracy among the first m models and 'fresh' that model's
    accuracy on new data. Returns {n_test: {'acc_test', 'chosen', 'fresh'}}.
    """
    rng = np.random.default_rng(seed)
    n_max = max(n_tests)
    out = {t: {"acc_test": [], "chosen": [], "fresh": []} for t in n_tests}
    for _ in range(n_trials):
        X = rng.standard_normal((n_train + n_max + n_fresh, n_features))
        y = rng.integers(0, 2, len(X))
        tr, te, fr = np.split(np.arange(len(X)), [n_train, n_train + n_max])
        ranks = rng.random((n_features, n_models)).argsort(0).argsort(0)
        mask = (ranks < subset).astype(np.float64)                   # (F, M) random feature subsets
        mu0, mu1 = X[tr][y[tr] == 0].mean(0), X[tr][y[tr] == 1].mean(0)
        W = mask * (mu1 - mu0)[:, None]                              # nearest-centroid direction
        b = -(mask * (mu1 ** 2 - mu0 ** 2)[:, None]).sum(0) / 2      # midpoint offset (M,)
        pred_te = X[te] @ W + b > 0                                  # (n_max, M) predicts class 1
        for t in n_tests:
            acc = (pred_te[:t] == y[te][:t, None]).mean(0)           # (M,) test accuracy
            winner = running_argmax(acc)                             # best of the first m models
            used = np.unique(winner)
            fresh = np.zeros(n_models)
            fresh[used] = ((X[fr] @ W[:, used] + b[used] > 0) == y[fr][:, None]).mean(0)
            out[t]["acc_test"].append(acc)
            out[t]["chosen"].append(acc[winner])
            out[t]["fresh"].append(fresh[winner])
    return {t: {k: np.array(v) for k, v in d.items()} for t, d in out.items()}


def running_argmax(a):
    """[argmax(a[:1]), argmax(a[:2]), ...]: first index of the running maximum."""
    a = finite_array("a", a, 1)
    prev_max = np.maximum.accumulate(np.r_[-np.inf, a[:-1]])
    return np.maximum.accumulate(np.where(a > prev_max, np.arange(len(a)), 0))
