"""Evaluation metrics from scratch (NumPy only): classification, ranking, calibration, regression,
and the uncertainty of a measured metric. Argument order follows scikit-learn: f(y_true, y_score).

Text metrics (perplexity, BLEU, ROUGE) live in `dlbook.textmetrics`, detection metrics (IoU, COCO
mAP) in `dlbook.detmetrics`.
"""
import math

import numpy as np

from dlbook import plot
from dlbook.checks import check_choice, check_int, check_real, finite_array


# ----------------------------------------------------------------------------- input checks
def _labels(name, y):
    y = finite_array(name, y, 1)
    return y


def _pair(y_true, y_other, other_name):
    """Two 1-D finite arrays of the same length."""
    y_true, y_other = finite_array("y_true", y_true, 1), finite_array(other_name, y_other, 1)
    if y_true.shape != y_other.shape:
        raise ValueError(f"{other_name} must have the same length as y_true ({y_true.size}), "
                         f"got {y_other.size}")
    return y_true, y_other


def _binary(y_true, y_other, other_name, need_both=False):
    """y_true with values in {0, 1}; optionally both classes present."""
    y_true, y_other = _pair(y_true, y_other, other_name)
    if not np.all((y_true == 0) | (y_true == 1)):
        raise ValueError("y_true must hold only 0 and 1")
    if need_both and (y_true.size == 0 or y_true.min() == y_true.max()):
        raise ValueError("y_true must contain both classes (0 and 1) for this metric")
    return y_true, y_other


def _probabilities(name, p):
    if np.any((p < 0) | (p > 1)):
        raise ValueError(f"{name} must hold probabilities in [0, 1]")
    return p


# ----------------------------------------------------------------------------- classification
def confusion_matrix(y_true, y_pred, labels=None):
    """C[i, j] = number of examples of class labels[i] predicted as labels[j] (rows: truth)."""
    y_true, y_pred = _pair(y_true, y_pred, "y_pred")
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else finite_array("labels", labels, 1)
    index = {v: i for i, v in enumerate(labels.tolist())}
    C = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for t, p in zip(y_true.tolist(), y_pred.tolist()):
        if t in index and p in index:
            C[index[t], index[p]] += 1
    return C


def binary_counts(y_true, y_pred):
    """(TP, FP, FN, TN) of 0/1 predictions."""
    y_true, y_pred = _binary(y_true, y_pred, "y_pred")
    if not np.all((y_pred == 0) | (y_pred == 1)):
        raise ValueError("y_pred must hold only 0 and 1")
    t, p = y_true == 1, y_pred == 1
    return int(np.sum(t & p)), int(np.sum(~t & p)), int(np.sum(t & ~p)), int(np.sum(~t & ~p))


def _ratio(num, den):
    return num / den if den > 0 else 0.0   # scikit-learn's zero_division=0


def binary_metrics(y_true, y_pred, beta=1.0):
    """Accuracy, precision, recall, specificity, F1 and F-beta of 0/1 predictions (positive = 1)."""
    beta = check_real("beta", beta, lo=0, lo_open=True)
    tp, fp, fn, tn = binary_counts(y_true, y_pred)
    b2 = beta ** 2
    return {"accuracy": _ratio(tp + tn, tp + fp + fn + tn), "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn), "specificity": _ratio(tn, tn + fp),
            "f1": _ratio(2 * tp, 2 * tp + fp + fn),
            "fbeta": _ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp)}


def precision_recall_fbeta(y_true, y_pred, beta=1.0, average="macro", labels=None):
    """Per-class precision, recall and F-beta, combined by `average`:
    'micro' (pool the counts), 'macro' (plain mean over classes), 'weighted' (mean weighted by
    each class's support) or None (the per-class arrays)."""
    beta = check_real("beta", beta, lo=0, lo_open=True)
    check_choice("average", average, ["micro", "macro", "weighted", None])
    C = confusion_matrix(y_true, y_pred, labels)
    tp = np.diag(C).astype(float)
    fp, fn = C.sum(axis=0) - tp, C.sum(axis=1) - tp      # column sums: predicted; row sums: true
    b2 = beta ** 2
    if average == "micro":
        tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        r = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        den = (1 + b2) * tp + b2 * fn + fp
        f = np.where(den > 0, (1 + b2) * tp / den, 0.0)
    if average in ("micro", None):
        return (float(p), float(r), float(f)) if average else (p, r, f)
    w = np.ones_like(tp) if average == "macro" else tp + fn          # support = true count
    if w.sum() == 0:
        return 0.0, 0.0, 0.0
    return tuple(float(np.sum(w * m) / w.sum()) for m in (p, r, f))


# ----------------------------------------------------------------------------- ranking curves
def _sorted_counts(y_true, y_score):
    """Cumulative TP and FP counts at each distinct score, thresholds from high to low."""
    order = np.argsort(-y_score, kind="mergesort")
    s, t = y_score[order], y_true[order]
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]    # last index of each distinct score
    tps = np.cumsum(t)[last]
    fps = (last + 1) - tps
    return tps, fps, s[last]


def roc_curve(y_true, y_score):
    """False-positive rate, true-positive rate and thresholds (high to low, first = +inf)."""
    y_true, y_score = _binary(y_true, y_score, "y_score", need_both=True)
    tps, fps, thr = _sorted_counts(y_true, y_score)
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    return fps / fps[-1], tps / tps[-1], np.r_[np.inf, thr]


def roc_auc(y_true, y_score):
    """Area under the ROC curve by the trapezoidal rule."""
    fpr, tpr, _ = roc_curve(y_true, y_score)
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def auc_by_ranking(y_true, y_score):
    """P(score of a random positive > score of a random negative), ties counting 1/2."""
    y_true, y_score = _binary(y_true, y_score, "y_score", need_both=True)
    pos, neg = y_score[y_true == 1], y_score[y_true == 0]
    neg = np.sort(neg)
    below = np.searchsorted(neg, pos, side="left")                  # negatives strictly lower
    ties = np.searchsorted(neg, pos, side="right") - below
    return float((below + 0.5 * ties).sum() / (pos.size * neg.size))


def precision_recall_curve(y_true, y_score):
    """Precision, recall (recall decreasing, ending at (1, 0)) and thresholds, as scikit-learn."""
    y_true, y_score = _binary(y_true, y_score, "y_score")
    if y_true.size == 0 or y_true.sum() == 0:
        raise ValueError("y_true must contain at least one positive")
    tps, fps, thr = _sorted_counts(y_true, y_score)
    precision, recall = tps / (tps + fps), tps / tps[-1]
    return np.r_[precision[::-1], 1.0], np.r_[recall[::-1], 0.0], thr[::-1]


def average_precision(y_true, y_score):
    """Step-wise AP = sum_k (R_k - R_{k-1}) P_k: precision weighted by each recall increment."""
    precision, recall, _ = precision_recall_curve(y_true, y_score)
    return float(-np.sum(np.diff(recall) * precision[:-1]))


def pr_auc_trapezoid(y_true, y_score):
    """Area under the PR curve by the trapezoidal rule (straight lines between PR points, which are not
    achievable operating points; it can be above or below the step-wise AP)."""
    precision, recall, _ = precision_recall_curve(y_true, y_score)
    return float(-np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2))


# ----------------------------------------------------------------------------- calibration
def _bins(y_prob, n_bins):
    """Uniform bins on [0, 1], closed on the right as in scikit-learn: (0.2, 0.4] etc."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return np.searchsorted(edges[1:-1], y_prob, side="left")


def calibration_curve(y_true, y_prob, n_bins=5):
    """(fraction of positives, mean predicted probability, count) for each non-empty bin."""
    n_bins = check_int("n_bins", n_bins, 1)
    y_true, y_prob = _binary(y_true, y_prob, "y_prob")
    y_prob = _probabilities("y_prob", y_prob)
    b = _bins(y_prob, n_bins)
    count = np.bincount(b, minlength=n_bins)
    keep = count > 0
    frac = np.bincount(b, weights=y_true, minlength=n_bins)[keep] / count[keep]
    mean = np.bincount(b, weights=y_prob, minlength=n_bins)[keep] / count[keep]
    return frac, mean, count[keep]


def expected_calibration_error(y_true, y_prob, n_bins=10):
    """ECE = sum over bins of (bin share) * |fraction of positives - mean predicted probability|."""
    frac, mean, count = calibration_curve(y_true, y_prob, n_bins)
    if count.sum() == 0:
        raise ValueError("y_prob must not be empty")
    return float(np.sum(count / count.sum() * np.abs(frac - mean)))


# ----------------------------------------------------------------------------- regression
def regression_metrics(y_true, y_pred):
    """MSE, RMSE, MAE, MAPE (a fraction; |y| floored at machine epsilon, as scikit-learn) and R^2."""
    y_true, y_pred = _pair(y_true, y_pred, "y_pred")
    if y_true.size == 0:
        raise ValueError("y_true must not be empty")
    e = y_true - y_pred
    mse = float(np.mean(e ** 2))
    ss_res, ss_tot = float(np.sum(e ** 2)), float(np.sum((y_true - y_true.mean()) ** 2))
    if ss_tot > 0:
        r2 = 1 - ss_res / ss_tot
    else:                                   # constant y_true: scikit-learn's force_finite rule
        r2 = 1.0 if ss_res == 0 else 0.0
    mape = float(np.mean(np.abs(e) / np.maximum(np.abs(y_true), np.finfo(np.float64).eps)))
    return {"mse": mse, "rmse": math.sqrt(mse), "mae": float(np.mean(np.abs(e))), "mape": mape, "r2": r2}


# ----------------------------------------------------------------------------- uncertainty
def bootstrap_ci(metric, y_true, y_score, n_resamples=1000, level=0.95, rng=0):
    """Percentile bootstrap interval of metric(y_true, y_score): resample examples with
    replacement, recompute, take the (1-level)/2 and (1+level)/2 quantiles.
    Resamples on which the metric is undefined (one class only) are skipped.
    Returns (low, high, values)."""
    n_resamples = check_int("n_resamples", n_resamples, 1)
    level = check_real("level", level, lo=0, hi=1, lo_open=True, hi_open=True)
    y_true, y_score = _pair(y_true, y_score, "y_score")
    if y_true.size == 0:
        raise ValueError("y_true must not be empty")
    rng = np.random.default_rng(rng)
    values = []
    for _ in range(n_resamples):
        i = rng.integers(0, y_true.size, y_true.size)
        try:
            values.append(metric(y_true[i], y_score[i]))
        except ValueError:
            continue
    values = np.array(values)
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi), values


def _z(q):
    """Standard-normal quantile (inverse CDF) by bisection on erf: NumPy only, 1e-12 accurate."""
    lo, hi = -40.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if 0.5 * (1 + math.erf(mid / math.sqrt(2))) < q:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def sample_size_unpaired(p1, p2, alpha=0.05, power=0.8):
    """Test-set size per model to detect accuracies p1 vs p2 on two independent test sets
    (two-sided z-test for two proportions, normal approximation)."""
    p1, p2 = check_real("p1", p1, 0, 1), check_real("p2", p2, 0, 1)
    if p1 == p2:
        raise ValueError("p2 must differ from p1")
    za, zb = _z(1 - check_real("alpha", alpha, 0, 1, True, True) / 2), _z(check_real("power", power, 0, 1, True, True))
    return math.ceil((za + zb) ** 2 * (p1 * (1 - p1) + p2 * (1 - p2)) / (p1 - p2) ** 2)


def sample_size_paired(delta, discordant, alpha=0.05, power=0.8):
    """Test-set size for McNemar's test when both models label the same examples: `delta` is the
    accuracy difference, `discordant` the share of examples on which exactly one model is right
    (Connor, 1987)."""
    delta = check_real("delta", delta, 0, 1, lo_open=True)
    psi = check_real("discordant", discordant, 0, 1, lo_open=True)
    if psi < delta:
        raise ValueError("discordant must be >= delta")
    za, zb = _z(1 - check_real("alpha", alpha, 0, 1, True, True) / 2), _z(check_real("power", power, 0, 1, True, True))
    return math.ceil((za * math.sqrt(psi) + zb * math.sqrt(psi - delta ** 2)) ** 2 / delta ** 2)


def mcnemar_power(n, delta, discordant, alpha=0.05, n_sims=4000, rng=0):
    """Simulated power of the two-sided McNemar z-test with n paired test examples."""
    n = check_int("n", n, 1)
    rng = np.random.default_rng(rng)
    p01, p10 = (discordant + delta) / 2, (discordant - delta) / 2       # B right only, A right only
    counts = rng.multinomial(n, [p01, p10, 1 - p01 - p10], size=n_sims)
    b, c = counts[:, 0], counts[:, 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(b + c > 0, (b - c) / np.sqrt(b + c), 0.0)
    return float(np.mean(np.abs(z) > _z(1 - alpha / 2)))


# ----------------------------------------------------------------------------- figures
def _norm_sf(x):
    return 0.5 * np.vectorize(math.erfc)(np.asarray(x) / math.sqrt(2))


def draw_threshold(fig, threshold, y_true, y_score, pos_name="positive", neg_name="negative"):
    """Score histograms with a threshold, the confusion matrix at it, and five metrics.
    For `interactive(..., clear=False)`: histograms and axes are built once; a move only
    updates the threshold line, the matrix image and texts, and the bar widths."""
    y_pred = (y_score >= threshold).astype(float)
    tp, fp, fn, tn = binary_counts(y_true, y_pred)
    m = binary_metrics(y_true, y_pred)
    names = ["accuracy", "precision", "recall", "specificity", "f1"][::-1]
    art = plot.artists(fig, "threshold")
    if art is None:
        fig.clear()
        ax1, ax2, ax3 = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.4, 0.9, 1.2]})
        bins = np.linspace(0, 1, 26)
        ax1.hist(y_score[y_true == 0], bins, color=plot.COLORS[0], alpha=0.6, label=neg_name)
        ax1.hist(y_score[y_true == 1], bins, color=plot.COLORS[1], alpha=0.6, label=pos_name)
        ax1.set(xlabel="predicted probability of positive", ylabel="examples")
        plot.log_yaxis(ax1, 0.7, 2 * len(y_true), every=1)
        ax1.legend(fontsize=8, loc="upper center")
        image = ax2.imshow(np.zeros((2, 2)), cmap="Blues", vmin=0, vmax=len(y_true))
        cells = [ax2.text(j, i, "", ha="center", va="center", fontsize=10)
                 for i, j in [(0, 0), (0, 1), (1, 0), (1, 1)]]
        ax2.set(xticks=[0, 1], xticklabels=["pred +", "pred −"], yticks=[0, 1], yticklabels=["true +", "true −"])
        bars = ax3.barh(names, np.zeros(len(names)), color=plot.COLORS[2])
        values = [ax3.text(0, i, "", va="center", fontsize=9) for i in range(len(names))]
        ax3.set(xlim=(0, 1.0), xticks=[0, 0.5, 1], title=" ")
        plot.few_ticks(ax1, n=3)
        art = plot.keep_artists(fig, "threshold", line=ax1.axvline(threshold, color="k", lw=1.5),
                                image=image, cells=cells, bars=bars, values=values)
    art["line"].set_xdata([threshold, threshold])
    art["image"].set_data([[tp, fn], [fp, tn]])
    for t, name, v in zip(art["cells"], ["TP", "FN", "FP", "TN"], [tp, fn, fp, tn]):
        t.set_text(f"{name}\n{v}")
    for i, (bar, t, k) in enumerate(zip(art["bars"], art["values"], names)):
        bar.set_width(m[k])
        t.set_position((min(m[k], 0.78) + 0.02, i))
        t.set_text(f"{m[k]:.3f}")
    fig.axes[2].set_title(f"threshold {threshold:.2f}")


def binormal_curves(d, prevalence, n=801):
    """Population ROC and PR curves when scores are N(0, 1) for negatives and N(d, 1) for
    positives and a share `prevalence` of examples is positive. Returns fpr, tpr, precision,
    ROC-AUC = Phi(d / sqrt 2) and AP (precision integrated over recall)."""
    t = np.linspace(-8, 8 + d, n)[::-1]
    fpr, tpr = _norm_sf(t), _norm_sf(t - d)
    pi = prevalence
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tpr > 0, pi * tpr / (pi * tpr + (1 - pi) * fpr), 1.0)
    auc = 1 - float(_norm_sf(d / math.sqrt(2)))
    ap = float(np.sum(np.diff(tpr) * (precision[1:] + precision[:-1]) / 2))
    return fpr, tpr, precision, auc, ap


def draw_prevalence(fig, prevalence, d=1.5):
    """ROC curve (independent of prevalence) next to the PR curve at this prevalence.
    For `interactive(..., clear=False)`: the ROC panel is drawn once; a move updates the PR
    curve, the chance line and the title."""
    fpr, tpr, precision, auc, ap = binormal_curves(d, prevalence)
    art = plot.artists(fig, "prevalence")
    if art is None:
        fig.clear()
        ax1, ax2 = fig.subplots(1, 2)
        ax1.plot(fpr, tpr, color=plot.COLORS[0])
        ax1.plot([0, 1], [0, 1], "k:", lw=1)
        ax1.set(xlabel="false-positive rate", ylabel="true-positive rate (recall)",
                title=f"ROC: AUC = {auc:.3f}")
        ax2.set(xlabel="recall", ylabel="precision", xlim=(-0.05, 1.05), ylim=(0, 1.02), title=" ")
        plot.few_ticks(ax1, ax2)
        art = plot.keep_artists(fig, "prevalence", curve=ax2.plot([], [], color=plot.COLORS[1])[0],
                                chance=ax2.axhline(0, color="k", ls=":", lw=1))
    art["curve"].set_data(tpr, precision)
    art["chance"].set_ydata([prevalence, prevalence])
    fig.axes[1].set_title(f"PR at prevalence {prevalence:.3g}: AP = {ap:.3f}")


def outlier_metrics(y_true, y_pred, error):
    """Regression metrics after adding `error` to the first prediction (one wild prediction)."""
    y_pred = np.array(y_pred, dtype=float)
    y_pred[0] = y_pred[0] + error
    return regression_metrics(y_true, y_pred)


def draw_outlier(fig, error, y_true, y_pred, max_error=2000):
    """Left: predictions vs truth with one prediction moved by `error`. Right: RMSE and MAE
    (relative to their value without the outlier) and R^2 as the error grows.
    For `interactive(..., clear=False)`: the curves are computed and drawn once; a move only
    moves the point, the marker line, the y limit and the title."""
    now = outlier_metrics(y_true, y_pred, error)
    moved = np.array(y_pred, dtype=float)
    moved[0] += error
    art = plot.artists(fig, "outlier")
    if art is None:
        fig.clear()
        grid = np.linspace(0, max_error, 81)
        curves = [outlier_metrics(y_true, y_pred, g) for g in grid]
        ax1, ax2 = fig.subplots(1, 2)
        ax1.scatter(y_true[1:], moved[1:], s=8, color=plot.COLORS[0])
        point = ax1.scatter(y_true[:1], moved[:1], s=40, color=plot.COLORS[1], label="moved prediction")
        diagonal = ax1.plot([0, 1], [0, 1], "k:", lw=1)[0]
        ax1.set(xlabel="true value", title="prediction against true value", xlim=(0, max(400, y_true.max() + 20)))
        ax1.legend(fontsize=8, loc="upper left")
        for key, c in [("rmse", plot.COLORS[1]), ("mae", plot.COLORS[0])]:
            ax2.plot(grid, [m[key] / curves[0][key] for m in curves], color=c, label=f"{key.upper()} / its value at 0")
        ax2.plot(grid, [m["r2"] for m in curves], color=plot.COLORS[2], label="R²")
        ax2.axhline(0, color="k", lw=0.8)
        ax2.set(xlabel="error added to one prediction", ylim=(-1.5, 4), title=" ")
        ax2.legend(fontsize=8, loc="upper left")
        plot.few_ticks(ax1, ax2)
        art = plot.keep_artists(fig, "outlier", point=point, diagonal=diagonal,
                                marker=ax2.axvline(error, color="k", ls=":", lw=1))
    lim = (0, max(400, moved.max() + 80))
    art["point"].set_offsets([[y_true[0], moved[0]]])
    art["diagonal"].set_data(lim, lim)
    art["marker"].set_xdata([error, error])
    ax1, ax2 = fig.axes
    ax1.set_ylim(lim)
    ax2.set_title(f"RMSE {now['rmse']:.1f}  MAE {now['mae']:.1f}  R² {now['r2']:.2f}")


def plot_roc_pr(y_true, y_score):
    """The ROC and the PR curve of one classifier, side by side."""
    fpr, tpr, _ = roc_curve(y_true, y_score)
    precision, recall, _ = precision_recall_curve(y_true, y_score)
    fig, (ax1, ax2) = plot.figure(1, 2, figsize=(7.5, 3.0))
    ax1.plot(fpr, tpr, drawstyle="default", color=plot.COLORS[0])
    ax1.plot([0, 1], [0, 1], "k:", lw=1)
    ax1.set(xlabel="false-positive rate", ylabel="true-positive rate",
            title=f"ROC, AUC {roc_auc(y_true, y_score):.3f}")
    ax2.step(recall, precision, where="post", color=plot.COLORS[1])
    ax2.axhline(y_true.mean(), color="k", ls=":", lw=1)
    ax2.set(xlabel="recall", ylabel="precision", ylim=(0, 1.02),
            title=f"PR, AP {average_precision(y_true, y_score):.3f}")
    return fig


def plot_reliability(y_true, probs, n_bins=10):
    """Reliability diagrams: fraction of positives against mean predicted probability per bin."""
    fig, axes = plot.figure(1, len(probs), figsize=(3.2 * len(probs), 3.0))
    for ax, (name, p) in zip(np.atleast_1d(axes), probs.items()):
        frac, mean, count = calibration_curve(y_true, p, n_bins)
        ax.plot([0, 1], [0, 1], "k:", lw=1)
        ax.plot(mean, frac, "o-", color=plot.COLORS[0])
        ax.set(xlabel="mean predicted probability", ylabel="fraction positive",
               title=f"{name}: ECE {expected_calibration_error(y_true, p, n_bins):.3f}")
    return fig
