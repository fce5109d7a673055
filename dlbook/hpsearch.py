"""Hyperparameter search on a budget: grid, random, and Bayesian optimisation with a tiny GP.

Points live in a box given by `bounds` = [(low, high), ...]; the searches return the points
to try, and the sequential one (`BayesOpt`) asks for one point at a time after seeing results.
"""
import math

import numpy as np

from dlbook import plot
from dlbook.checks import check_int, check_positive, check_real, finite_array
from dlbook.optim import group_softmax
from dlbook.util import one_blas_thread


def _check_bounds(bounds):
    bounds = np.asarray(bounds, float)
    if bounds.ndim != 2 or bounds.shape[1] != 2 or not np.all(np.isfinite(bounds)) \
            or np.any(bounds[:, 0] >= bounds[:, 1]):
        raise ValueError(f"bounds must be [(low, high), ...] with low < high, got {bounds.tolist()}")
    return bounds


def _points_per_axis(n, D):
    """⌊n^(1/D)⌋ in exact integers (n ** (1/D) alone gives 3.9999… for 64 in 3-D): k^D <= n."""
    k = max(1, int(round(n ** (1 / D))))
    while k ** D > n:
        k -= 1
    while (k + 1) ** D <= n:
        k += 1
    return k


# -- the objective: validation loss of softmax regression on digits ---------------------------
class DigitsObjective:
    """Validation cross-entropy of softmax regression after `num_steps` of full-batch gradient
    descent with learning rate 10**log_lr and L2 weight decay wd (vectorised over configurations).

    Diverged runs score `worst` (log 10, the loss of a uniform guess), never NaN.
    """

    def __init__(self, X_train, y_train, X_val, y_val, num_steps=40, num_classes=10):
        self.X, self.y = np.asarray(X_train, float), np.asarray(y_train)
        self.X_val, self.y_val = np.asarray(X_val, float), np.asarray(y_val)
        self.num_steps, self.C = int(num_steps), int(num_classes)
        self.Y = np.eye(self.C)[self.y]                          # (N, C) one-hot
        self.worst = math.log(self.C)
        self.calls = 0

    def __call__(self, log_lr, weight_decay):
        log_lr, wd = np.broadcast_arrays(np.asarray(log_lr, float), np.asarray(weight_decay, float))
        shape = log_lr.shape
        lr, wd = 10.0 ** log_lr.ravel(), wd.ravel()                # (K,)
        if np.any(wd < 0):
            raise ValueError("weight_decay must be >= 0")
        K, (N, d) = len(lr), self.X.shape
        self.calls += K
        # all K models side by side in one (d, K·C) matrix: every step is two plain GEMMs
        W, b = np.zeros((d, K * self.C)), np.zeros(K * self.C)
        lr_col, wd_col = np.repeat(lr, self.C), np.repeat(wd, self.C)          # (K·C,)
        Y = np.tile(self.Y, K)                                                  # (N, K·C)
        with np.errstate(all="ignore"), one_blas_thread():
            for _ in range(self.num_steps):
                P = group_softmax(self.X @ W + b, self.C) - Y                        # P − Y, (N, K·C)
                W -= lr_col * (self.X.T @ P / N + wd_col * W)                  # dW = Xᵀ(P−Y)/N + wd·W
                b -= lr_col * P.mean(axis=0)
            Z = (self.X_val @ W + b).reshape(len(self.y_val), K, self.C)
            Z -= Z.max(axis=-1, keepdims=True)
            log_p = Z - np.log(np.exp(Z).sum(axis=-1, keepdims=True))           # (N_val, K, C)
            loss = -log_p[np.arange(len(self.y_val)), :, self.y_val].mean(axis=0)
        loss = np.where(np.isfinite(loss), np.minimum(loss, self.worst), self.worst)
        return loss.reshape(shape)


# -- grid and random search -----------------------------------------------------------------
def grid_points(bounds, n_trials):
    """⌊n^(1/D)⌋ evenly spaced values per axis (⌊√n⌋ in 2-D), all combinations: the classic grid,
    never more points than the budget n (15 trials give a 3 × 3 grid)."""
    bounds, n = _check_bounds(bounds), check_int("n_trials", n_trials, 1)
    k = _points_per_axis(n, len(bounds))
    axes = [np.linspace(lo, hi, k) for lo, hi in bounds]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(bounds))


def shifted_grid_points(bounds, n_trials, rng=0):
    """The same grid moved by a random fraction of a cell along each axis: averaging over such
    shifts removes the luck of where a fixed grid happens to fall."""
    bounds, n = _check_bounds(bounds), check_int("n_trials", n_trials, 1)
    k = _points_per_axis(n, len(bounds))
    u = np.random.default_rng(rng).random(len(bounds))
    axes = [lo + (np.arange(k) + u[i]) * (hi - lo) / k for i, (lo, hi) in enumerate(bounds)]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(bounds))


def random_points(bounds, n_trials, rng=0):
    """n points drawn uniformly in the box (uniform in log lr = log-uniform lr)."""
    bounds, n = _check_bounds(bounds), check_int("n_trials", n_trials, 1)
    rng = np.random.default_rng(rng)
    return bounds[:, 0] + rng.random((n, len(bounds))) * (bounds[:, 1] - bounds[:, 0])


# -- a tiny Gaussian process -------------------------------------------------------------------
def rbf_kernel(A, B, length_scale):
    """k(a, b) = exp(−‖a − b‖² / (2ℓ²)); A (n, D), B (m, D) → (n, m)."""
    check_positive("length_scale", length_scale)
    sq = ((A[:, None, :] - B[None, :, :]) ** 2).sum(-1)
    return np.exp(-0.5 * sq / length_scale ** 2)


def _observations(X_obs, y_obs):
    """Finite X_obs (n, D) and y_obs: one NaN would make every posterior mean, and so every
    expected improvement, NaN (the search would then pick points at random, silently)."""
    return np.atleast_2d(finite_array("X_obs", X_obs)), finite_array("y_obs", y_obs)


def gp_posterior(X_obs, y_obs, X_query, length_scale=0.2, noise=1e-6):
    """Posterior mean and std at X_query of a zero-mean GP, unit-variance RBF prior, given y_obs.

    μ = K*ᵀ (K + σ²I)⁻¹ y,  var = 1 − diag(K*ᵀ (K + σ²I)⁻¹ K*), via a Cholesky factor.
    """
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    X_obs, y_obs = _observations(X_obs, y_obs)
    X_query = np.atleast_2d(finite_array("X_query", X_query))
    K = rbf_kernel(X_obs, X_obs, length_scale) + noise * np.eye(len(X_obs))
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y_obs))
    K_star = rbf_kernel(X_obs, X_query, length_scale)          # (n, m)
    V = np.linalg.solve(L, K_star)
    var = np.clip(1.0 - (V ** 2).sum(axis=0), 1e-12, None)
    return K_star.T @ alpha, np.sqrt(var)


def log_marginal_likelihood(X_obs, y_obs, length_scale, noise=1e-6):
    """log p(y | X, ℓ) = −½ yᵀK⁻¹y − ½ log|K| − n/2 log 2π: how the GP picks its length scale."""
    X_obs, y_obs = _observations(X_obs, y_obs)
    K = rbf_kernel(X_obs, X_obs, length_scale) + noise * np.eye(len(X_obs))
    L = np.linalg.cholesky(K)
    alpha = np.linalg.solve(L.T, np.linalg.solve(L, y_obs))
    return float(-0.5 * y_obs @ alpha - np.log(np.diag(L)).sum() - 0.5 * len(y_obs) * math.log(2 * math.pi))


def _norm_cdf(z):
    return 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2)))


def expected_improvement(mu, sigma, best, xi=0.0):
    """E[max(best − f − ξ, 0)] for f ~ N(μ, σ²) (minimisation): (best−μ−ξ)Φ(z) + σφ(z)."""
    mu, sigma = np.asarray(mu, float), np.asarray(sigma, float)
    if np.any(sigma < 0):
        raise ValueError("sigma must be >= 0")
    imp = best - mu - xi
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sigma > 0, imp / sigma, 0.0)
    pdf = np.exp(-0.5 * z ** 2) / math.sqrt(2 * math.pi)
    return np.where(sigma > 0, imp * _norm_cdf(z) + sigma * pdf, np.maximum(imp, 0.0))


class BayesOpt:
    """Sequential search: `ask()` a point, `tell(point, value)`. The first `n_init` points are
    random; later ones maximise expected improvement under a GP fitted to the results so far
    (inputs scaled to [0, 1], values standardised, length scale by marginal likelihood)."""

    LENGTH_SCALES = (0.05, 0.1, 0.2, 0.4, 0.8)

    def __init__(self, bounds, n_init=4, n_candidates=2000, noise=1e-4, rng=0):
        self.bounds = _check_bounds(bounds)
        self.n_init = check_int("n_init", n_init, 1)
        self.rng = np.random.default_rng(rng)
        self.n_candidates, self.noise = int(n_candidates), float(noise)
        self.X, self.y = [], []

    def _scale(self, P):
        return (np.asarray(P) - self.bounds[:, 0]) / (self.bounds[:, 1] - self.bounds[:, 0])

    def ask(self):
        if len(self.y) < self.n_init:
            return random_points(self.bounds, 1, self.rng)[0]
        Z, y = self._scale(np.array(self.X)), np.array(self.y)
        y = (y - y.mean()) / (y.std() + 1e-12)
        ell = max(self.LENGTH_SCALES, key=lambda l: log_marginal_likelihood(Z, y, l, self.noise))
        cand = random_points(self.bounds, self.n_candidates, self.rng)
        mu, sd = gp_posterior(Z, y, self._scale(cand), ell, self.noise)
        return cand[np.argmax(expected_improvement(mu, sd, y.min(), xi=0.01))]

    def tell(self, point, value):
        """Record objective(point) = value; a non-finite value or point raises (nothing recorded)."""
        point = finite_array("point", point, 1)
        if point.shape != (len(self.bounds),):
            raise ValueError(f"point must have {len(self.bounds)} coordinates, got shape {point.shape}")
        value = check_real("value", float(value))
        self.X.append(point)
        self.y.append(value)


def bayes_search(objective, bounds, n_trials, n_init=4, rng=0):
    """Run BayesOpt for n_trials on objective(*point); return (points (n, D), values (n,))."""
    n = check_int("n_trials", n_trials, 1)
    opt = BayesOpt(bounds, n_init=n_init, rng=rng)
    for _ in range(n):
        p = opt.ask()
        opt.tell(p, float(objective(*p)))
    return np.array(opt.X), np.array(opt.y)


def bayes_search_many(objective, bounds, n_trials, seeds, n_init=4):
    """Independent BayesOpt runs (one per seed) in lockstep: each round evaluates all runs' next
    points in one vectorised objective call. Returns values (len(seeds), n_trials)."""
    n = check_int("n_trials", n_trials, 1)
    opts = [BayesOpt(bounds, n_init=n_init, rng=s) for s in seeds]
    for _ in range(n):
        P = np.array([o.ask() for o in opts])
        vals = objective(*P.T)
        for o, p, v in zip(opts, P, vals):
            o.tell(p, v)
    return np.array([o.y for o in opts])


def best_so_far(values):
    """Running minimum along the last axis: the best result after each trial."""
    return np.minimum.accumulate(np.asarray(values, float), axis=-1)


# -- figures -----------------------------------------------------------------------------------
def plot_search(landscape, extent, searches, labels=("log₁₀ lr", "log₁₀ weight decay")):
    """Figure: the points each search tried over the landscape, and best value vs trial number.

    landscape: (n_x, n_y) values on a lattice spanning extent = (x0, x1, y0, y1);
    searches: {name: (points (n, 2), values (n,))}.
    """
    fig, axes = plot.figure(1, len(searches) + 1, figsize=(3.1 * (len(searches) + 1), 3.1))
    for ax, (name, (P, vals)) in zip(axes, searches.items()):
        image = ax.imshow(np.asarray(landscape).T, origin="lower", extent=extent, aspect="auto",
                          cmap="viridis_r")
        ax.scatter(P[:, 0], P[:, 1], c="white", edgecolors="black", s=22, clip_on=False, zorder=3)
        i = int(np.argmin(vals))
        ax.plot(*P[i], "*", color=plot.COLORS[1], ms=14, mec="black", clip_on=False, zorder=4)
        ax.set(title=f"{name}: best {vals[i]:.3f}", xlabel=labels[0], ylabel=labels[1],
               xlim=extent[:2], ylim=extent[2:])
        ax.grid(False)
    fig.colorbar(image, ax=axes[-2], label="validation loss")
    ax = axes[-1]
    for k, (name, (_, vals)) in enumerate(searches.items()):
        ax.semilogy(np.arange(1, len(vals) + 1), best_so_far(vals), "-o", ms=3,
                    color=plot.COLORS[k], label=name)
    ax.set(xlabel="trial", ylabel="best validation loss (log scale)", title="best so far")
    ax.legend()
    return fig
