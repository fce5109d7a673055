"""dlbook.metrics against scikit-learn and torchmetrics (float64, explicit tolerances)."""
import math
import warnings

import numpy as np
import pytest
import sklearn.metrics as skm
import torch
from hypothesis import example, given, settings, strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from sklearn.calibration import calibration_curve as sk_calibration_curve
from sklearn.exceptions import UndefinedMetricWarning
from torchmetrics.functional.classification import binary_calibration_error, multiclass_calibration_error

from dlbook import metrics

TOL = dict(rtol=1e-12, atol=1e-12)


@st.composite
def binary_scores(draw, min_size=1, max_size=60, both=False, ties=None):
    n = draw(st.integers(min_size, max_size))
    y = draw(arrays(np.int64, n, elements=st.integers(0, 1)))
    if both and (y.min() == y.max()):
        y[0], y[-1] = 0, 1
        if n == 1:
            y = np.array([0, 1])
            n = 2
    tie = draw(st.booleans()) if ties is None else ties
    elements = st.integers(0, 5).map(lambda k: k / 5) if tie else st.floats(0, 1, allow_nan=False)
    s = draw(arrays(np.float64, n, elements=elements))
    return y.astype(float), s


# ----------------------------------------------------------------------------- classification
@settings(max_examples=20, deadline=None)
@given(binary_scores(min_size=0), st.floats(0.05, 0.95), st.sampled_from([0.5, 1.0, 2.0]))
@example((np.zeros(0), np.zeros(0)), 0.5, 1.0)                        # empty
@example((np.zeros(4), np.array([0.1, 0.6, 0.7, 0.2])), 0.5, 2.0)     # no positives
@example((np.ones(3), np.array([0.1, 0.2, 0.3])), 0.5, 0.5)           # no predicted positives
def test_binary_metrics_match_sklearn(data, thr, beta):
    y, s = data
    y_hat = (s >= thr).astype(float)
    m = metrics.binary_metrics(y, y_hat, beta=beta)
    if y.size == 0:
        assert m["accuracy"] == 0.0
        return
    kw = dict(zero_division=0, labels=[0, 1], average="binary")
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, y_hat), abs=1e-12)
    assert m["precision"] == pytest.approx(skm.precision_score(y, y_hat, **kw), abs=1e-12)
    assert m["recall"] == pytest.approx(skm.recall_score(y, y_hat, **kw), abs=1e-12)
    assert m["f1"] == pytest.approx(skm.f1_score(y, y_hat, **kw), abs=1e-12)
    assert m["fbeta"] == pytest.approx(skm.fbeta_score(y, y_hat, beta=beta, **kw), abs=1e-12)
    assert m["specificity"] == pytest.approx(skm.recall_score(1 - y, 1 - y_hat, **kw), abs=1e-12)
    tn, fp, fn, tp = skm.confusion_matrix(y, y_hat, labels=[0, 1]).ravel()
    assert metrics.binary_counts(y, y_hat) == (tp, fp, fn, tn)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 50), st.integers(1, 5), st.integers(0, 10_000), st.sampled_from([0.5, 1.0, 3.0]))
@example(1, 1, 0, 1.0)                                                # a single example, one class
@example(3, 5, 7, 3.0)                                                # classes with no support
def test_averages_match_sklearn(n, k, seed, beta):
    rng = np.random.default_rng(seed)
    y, y_hat = rng.integers(0, k, n).astype(float), rng.integers(0, k, n).astype(float)
    labels = np.unique(np.r_[y, y_hat])
    np.testing.assert_array_equal(metrics.confusion_matrix(y, y_hat), skm.confusion_matrix(y, y_hat, labels=labels))
    for average in ["micro", "macro", "weighted", None]:
        ours = metrics.precision_recall_fbeta(y, y_hat, beta=beta, average=average)
        p, r, f, _ = skm.precision_recall_fscore_support(y, y_hat, beta=beta, average=average,
                                                         labels=labels, zero_division=0)
        for a, b in zip(ours, (p, r, f)):
            np.testing.assert_allclose(a, b, **TOL)


def test_notes_disease_example_and_all_negative():
    y = np.r_[np.ones(5), np.zeros(95)]
    y_hat = np.r_[np.ones(4), 0, np.ones(6), np.zeros(89)]
    m = metrics.binary_metrics(y, y_hat)
    assert (m["accuracy"], m["precision"], m["recall"]) == (0.93, 0.4, 0.8)
    assert m["f1"] == pytest.approx(8 / 15)
    z = metrics.binary_metrics(y, np.zeros(100))
    assert z["accuracy"] == 0.95 and z["recall"] == 0 and z["f1"] == 0


def test_inline_confusion_counts_equal_dlbook():
    rng = np.random.default_rng(1)
    y, y_score = (rng.random(150) < 0.4).astype(float), rng.random(150)
    # the chapter's inline counts and metrics at t = 0.5
    y_hat = (y_score >= 0.5).astype(float)
    tp = np.sum((y == 1) & (y_hat == 1)); fp = np.sum((y == 0) & (y_hat == 1))
    fn = np.sum((y == 1) & (y_hat == 0)); tn = np.sum((y == 0) & (y_hat == 0))
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    f1 = 2 * precision * recall / (precision + recall)
    assert metrics.binary_counts(y, y_hat) == (tp, fp, fn, tn)
    m = metrics.binary_metrics(y, y_hat)
    inline = {"accuracy": (tp + tn) / len(y), "precision": precision, "recall": recall,
              "specificity": tn / (tn + fp), "f1": f1}
    for k, v in inline.items():
        assert m[k] == pytest.approx(v, abs=1e-12), k


# ----------------------------------------------------------------------------- ranking
@settings(max_examples=25, deadline=None)
@given(binary_scores(both=True))
@example((np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.4, 0.4, 0.4, 0.4])))   # all tied
@example((np.array([0.0, 1.0]), np.array([0.9, 0.1])))                          # reversed
def test_roc_auc_and_curves_match_sklearn(data):
    y, s = data
    fpr, tpr, thr = metrics.roc_curve(y, s)
    f2, t2, th2 = skm.roc_curve(y, s, drop_intermediate=False)
    np.testing.assert_allclose(fpr, f2, **TOL)
    np.testing.assert_allclose(tpr, t2, **TOL)
    np.testing.assert_array_equal(thr[1:], th2[1:])
    auc = skm.roc_auc_score(y, s)
    assert metrics.roc_auc(y, s) == pytest.approx(auc, abs=1e-12)
    assert metrics.auc_by_ranking(y, s) == pytest.approx(auc, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(binary_scores(both=True))
@example((np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.4, 0.4, 0.4, 0.4])))   # all tied
@example((np.array([1.0, 0.0, 1.0]), np.array([0.9, 0.8, 0.7])))
def test_pr_curve_and_ap_match_sklearn(data):
    y, s = data
    p, r, t = metrics.precision_recall_curve(y, s)
    p2, r2, t2 = skm.precision_recall_curve(y, s)
    np.testing.assert_allclose(p, p2, **TOL)
    np.testing.assert_allclose(r, r2, **TOL)
    np.testing.assert_array_equal(t, t2)
    assert metrics.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s), abs=1e-12)
    assert metrics.pr_auc_trapezoid(y, s) == pytest.approx(skm.auc(r2, p2), abs=1e-12)


def test_single_class_raises_like_sklearn():
    y, s = np.ones(5), np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="y_true"):
        metrics.roc_auc(y, s)
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(skm.roc_auc_score(y, s))       # scikit-learn 1.9 warns and returns NaN
    with pytest.raises(ValueError, match="y_true"):
        metrics.average_precision(np.zeros(5), s)
    with pytest.raises(ValueError, match="y_true"):
        metrics.auc_by_ranking(np.zeros(0), np.zeros(0))


def test_inline_pairwise_auc_equals_dlbook():
    rng = np.random.default_rng(4)
    y, y_score = (rng.random(120) < 0.3).astype(float), rng.random(120).round(1)   # many ties
    # the chapter's inline Mann-Whitney count over all pairs
    pos, neg = y_score[y == 1], y_score[y == 0]
    auc_pairs = np.mean(pos[:, None] > neg[None, :]) + 0.5 * np.mean(pos[:, None] == neg[None, :])
    assert auc_pairs == pytest.approx(metrics.roc_auc(y, y_score), abs=1e-12)
    assert auc_pairs == pytest.approx(metrics.auc_by_ranking(y, y_score), abs=1e-12)


def test_auc_one_half_yet_informative():
    # positives at both ends of the ranking: AUC exactly 0.5, yet two thresholds separate perfectly
    y = np.r_[np.ones(5), np.zeros(10), np.ones(5)]
    s = np.arange(20.0)
    assert metrics.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), abs=1e-12) == pytest.approx(0.5)
    assert np.mean(((s < 5) | (s >= 15)) == y) == 1.0


def test_inline_average_precision_equals_dlbook():
    rng = np.random.default_rng(3)
    y, s = (rng.random(200) < 0.3).astype(float), rng.random(200).round(2)
    # the chapter's inline version
    order = np.argsort(-s, kind="mergesort")
    hits = y[order]
    precision_at_k = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    last = np.r_[np.diff(s[order]) != 0, True]            # evaluate only after each tie group
    tp = np.cumsum(hits)[last]
    recall_steps = np.diff(np.r_[0, tp]) / y.sum()
    ap_inline = np.sum(recall_steps * precision_at_k[last])
    assert ap_inline == pytest.approx(metrics.average_precision(y, s), abs=1e-12)


# ----------------------------------------------------------------------------- calibration
@settings(max_examples=20, deadline=None)
@given(binary_scores(min_size=1, ties=False), st.integers(1, 15))
@example((np.array([0.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.5])), 4)   # probabilities 0, 1 and an edge
def test_calibration_curve_matches_sklearn(data, n_bins):
    y, p = data
    frac, mean, count = metrics.calibration_curve(y, p, n_bins)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if y.min() == y.max():
            return           # scikit-learn refuses single-class y_true; ours still bins it
        f2, m2 = sk_calibration_curve(y, p, n_bins=n_bins)
    np.testing.assert_allclose(frac, f2, **TOL)
    np.testing.assert_allclose(mean, m2, **TOL)
    assert count.sum() == y.size


@settings(max_examples=20, deadline=None)
@given(binary_scores(min_size=1, ties=False), st.integers(1, 15))
@example((np.array([0.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.5])), 4)
def test_ece_matches_torchmetrics_off_the_bin_edges(data, n_bins):
    y, p = data
    edges = np.linspace(0, 1, n_bins + 1)
    p = np.where(np.isin(p, edges), np.clip(p + 1e-9, 0, 1 - 1e-9), p)   # torchmetrics' bins are [a, b)
    p = np.where(np.isin(p, edges), p - 2e-9, p)
    ref = binary_calibration_error(torch.tensor(p), torch.tensor(y).long(), n_bins=n_bins, norm="l1").item()
    assert metrics.expected_calibration_error(y, p, n_bins) == pytest.approx(ref, abs=1e-9)


def test_bin_edge_convention_differs_from_torchmetrics():
    # 0.1 is a bin edge: scikit-learn / dlbook put it in (0, 0.1], torchmetrics in [0.1, 0.2)
    y, p = np.array([0.0, 1.0]), np.array([0.1, 0.15])
    assert p[0] == np.linspace(0, 1, 11)[1]
    f2, m2 = sk_calibration_curve(y, p, n_bins=10)
    np.testing.assert_allclose(metrics.calibration_curve(y, p, 10)[0], f2, **TOL)
    assert metrics.expected_calibration_error(y, p, 10) == pytest.approx(0.5 * 0.1 + 0.5 * 0.85, abs=1e-12)
    ref = binary_calibration_error(torch.tensor(p), torch.tensor(y).long(), n_bins=10).item()
    assert ref == pytest.approx(0.375, abs=1e-12)      # both in one bin: |0.5 - 0.125|


@settings(max_examples=20, deadline=None)
@given(binary_scores(min_size=1, ties=False), st.integers(1, 15))
def test_inline_top_label_ece_matches_torchmetrics(data, n_bins):
    y, p = data
    edges = np.linspace(0, 1, n_bins + 1)
    p = np.clip(p, 0.001, 0.999)
    p = np.where(np.isclose(p, 0.5), 0.51, p)                       # argmax ties: no top label
    conf = np.maximum(p, 1 - p)
    far = np.min(np.abs(conf[:, None] - edges[None, :]), axis=1) > 1e-7   # off the bin edges
    y, p, conf = y[far], p[far], conf[far]
    if y.size == 0:
        return
    # the chapter's inline top-label ECE (Guo et al.): confidence of the predicted class vs accuracy
    correct = ((p >= 0.5) == y).astype(float)
    ours = metrics.expected_calibration_error(correct, conf, n_bins)
    ref = multiclass_calibration_error(torch.tensor(np.c_[1 - p, p]), torch.tensor(y).long(),
                                       num_classes=2, n_bins=n_bins).item()
    assert ours == pytest.approx(ref, abs=1e-6)          # torchmetrics' top-label path is float32


# ----------------------------------------------------------------------------- regression
@settings(max_examples=20, deadline=None)
@given(st.integers(2, 40), st.integers(0, 10_000), st.booleans())
@example(2, 0, True)                                                  # constant targets
@example(2, 1, False)   # sklearn: R^2 undefined for n < 2
def test_regression_metrics_match_sklearn(n, seed, constant):
    rng = np.random.default_rng(seed)
    y = np.full(n, 3.0) if constant else rng.normal(size=n) * 10
    y_hat = y + rng.standard_t(2, size=n)
    m = metrics.regression_metrics(y, y_hat)
    assert m["mse"] == pytest.approx(skm.mean_squared_error(y, y_hat), rel=1e-12)
    assert m["rmse"] == pytest.approx(skm.root_mean_squared_error(y, y_hat), rel=1e-12)
    assert m["mae"] == pytest.approx(skm.mean_absolute_error(y, y_hat), rel=1e-12)
    assert m["mape"] == pytest.approx(skm.mean_absolute_percentage_error(y, y_hat), rel=1e-12)
    assert m["r2"] == pytest.approx(skm.r2_score(y, y_hat), rel=1e-12, abs=1e-12)
    assert metrics.regression_metrics(y, y)["r2"] == skm.r2_score(y, y)


def test_r2_of_constant_predictions():
    y = np.array([1.0, 2.0, 4.0, 9.0])
    assert metrics.regression_metrics(y, np.full(4, y.mean()))["r2"] == pytest.approx(0.0, abs=1e-15)
    c = 7.0                              # R^2 = -(mean - c)^2 / var(y) for any constant c
    assert metrics.regression_metrics(y, np.full(4, c))["r2"] == pytest.approx(-(y.mean() - c) ** 2 / y.var())


# ----------------------------------------------------------------------------- uncertainty
def test_bootstrap_resamples_and_percentiles():
    """Deterministic: the same generator gives the same resample indices; each value is the metric
    on that resample; the interval is exactly the (1 -+ level)/2 quantiles of the values."""
    rng = np.random.default_rng(0)
    y, s = (rng.random(60) < 0.4).astype(float), rng.random(60)
    acc = lambda y, s: np.mean((s >= 0.5) == y)
    for level in (0.95, 0.8):
        lo, hi, values = metrics.bootstrap_ci(acc, y, s, n_resamples=300, level=level, rng=7)
        g = np.random.default_rng(7)
        expected = []
        for _ in range(300):
            i = g.integers(0, y.size, y.size)
            expected.append(acc(y[i], s[i]))
        np.testing.assert_array_equal(values, expected)
        q = np.quantile(expected, [(1 - level) / 2, (1 + level) / 2])
        assert (lo, hi) == (q[0], q[1])
    # resamples where the metric is undefined (one class only) are skipped, the others kept
    y2, s2 = np.r_[1.0, np.zeros(5)], np.linspace(0, 1, 6)
    _, _, values = metrics.bootstrap_ci(metrics.roc_auc, y2, s2, n_resamples=200, rng=1)
    g, kept = np.random.default_rng(1), []
    for _ in range(200):
        i = g.integers(0, 6, 6)
        if 0 < y2[i].sum() < 6:
            kept.append(metrics.roc_auc(y2[i], s2[i]))
    assert 0 < values.size < 200
    np.testing.assert_array_equal(values, kept)


def test_bootstrap_roughly_matches_scipy():
    """Rough independent check only (different random resamples): scipy's percentile interval."""
    rng = np.random.default_rng(0)
    y, s = (rng.random(300) < 0.4).astype(float), rng.random(300)
    s = np.clip(s + 0.3 * y, 0, 1)
    acc = lambda y, s: np.mean((s >= 0.5) == y)
    lo, hi, values = metrics.bootstrap_ci(acc, y, s, n_resamples=2000)
    ref = stats.bootstrap((y, s), acc, paired=True, vectorized=False, n_resamples=2000,
                          method="percentile", random_state=1).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.01) and hi == pytest.approx(ref.high, abs=0.01)
    assert values.size == 2000


def test_sample_size_formulas_as_written():
    """Not independent: re-types the textbook formulas (unpaired z-test; Connor 1987 for McNemar)
    to catch typos in the code, with z quantiles from scipy."""
    n = metrics.sample_size_unpaired(0.90, 0.91)
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    exact = (za + zb) ** 2 * (0.9 * 0.1 + 0.91 * 0.09) / 0.01 ** 2
    assert n == math.ceil(exact)
    m = metrics.sample_size_paired(0.01, 0.05)
    assert m == math.ceil((za * math.sqrt(0.05) + zb * math.sqrt(0.05 - 1e-4)) ** 2 / 1e-4)
    assert metrics._z(0.975) == pytest.approx(stats.norm.ppf(0.975), abs=1e-10)


@pytest.mark.parametrize("discordant", [0.03, 0.10])
def test_paired_sample_size_gives_its_power_by_simulation(discordant):
    """Independent check: McNemar's test, simulated at the computed n, has about 80 % power."""
    n = metrics.sample_size_paired(0.01, discordant)
    assert abs(metrics.mcnemar_power(n, 0.01, discordant, n_sims=4000) - 0.8) < 0.03
    assert metrics.mcnemar_power(n // 2, 0.01, discordant, n_sims=4000) < 0.6


@pytest.mark.parametrize("psi", [0.012, 0.03])
def test_mcnemar_power_matches_exact_sum(psi):
    """Simulated power of the z-test equals its exact power (scipy binomial sums) within MC error:
    the m = b + c discordant pairs are Binomial(n, psi), and given m, b is Binomial(m, p01 / psi)."""
    n, delta = 1000, 0.01
    z = stats.norm.ppf(0.975)
    exact = 0.0
    for m in range(1, n + 1):
        b = np.arange(m + 1)
        reject = np.abs(2 * b - m) / np.sqrt(m) > z
        exact += stats.binom.pmf(m, n, psi) * stats.binom.pmf(b[reject], m, (psi + delta) / (2 * psi)).sum()
    assert metrics.mcnemar_power(n, delta, psi, n_sims=4000) == pytest.approx(exact, abs=0.025)


# ----------------------------------------------------------------------------- figures
@pytest.mark.parametrize("name", ["threshold", "prevalence", "outlier"])
def test_persistent_figures_match_fresh_ones(name, persistent_frames_match):
    """clear=False redraws (as in the chapter) look exactly like frames drawn from scratch."""
    from functools import partial

    from dlbook import widgets
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.4).astype(float)
    s = np.clip(0.5 + 0.3 * (2 * y - 1) + 0.25 * rng.standard_normal(200), 0, 1)
    yr = rng.uniform(25, 350, 100)
    yp = yr + rng.normal(0, 40, 100)
    make = {
        "threshold": lambda clear: widgets.interactive(
            partial(metrics.draw_threshold, y_true=y, y_score=s), clear=clear, figsize=(9, 3.0),
            threshold=widgets.FloatSlider(0.02, 0.98, value=0.5, step=0.02, static=[0.02, 0.1, 0.5, 0.9])),
        "prevalence": lambda clear: widgets.interactive(
            metrics.draw_prevalence, clear=clear, figsize=(8, 3.2),
            prevalence=widgets.LogSlider(0.001, 0.5, value=0.1, static=[0.001, 0.01, 0.1, 0.5])),
        "outlier": lambda clear: widgets.interactive(
            partial(metrics.draw_outlier, y_true=yr, y_pred=yp), clear=clear,
            figsize=(8, 3.2), error=widgets.FloatSlider(0, 2000, value=500, step=50, static=[0, 500, 1000, 2000])),
    }
    persistent_frames_match(make[name], extra=2, every=3)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, name", [
    (lambda: metrics.roc_auc([0, 1], [0.1]), "y_score"),
    (lambda: metrics.roc_auc([0, 2], [0.1, 0.2]), "y_true"),
    (lambda: metrics.roc_auc([0, 1], [np.nan, 0.2]), "y_score"),
    (lambda: metrics.calibration_curve([0, 1], [0.1, 1.2]), "y_prob"),
    (lambda: metrics.expected_calibration_error([0, 1], [-0.1, 0.5]), "y_prob"),
    (lambda: metrics.binary_metrics([0, 1], [0, 1], beta=0), "beta"),
    (lambda: metrics.binary_counts([0, 1], [0, 0.5]), "y_pred"),
    (lambda: metrics.precision_recall_fbeta([0, 1], [0, 1], average="mean"), "average"),
    (lambda: metrics.regression_metrics([1.0], [1.0, 2.0]), "y_pred"),
    (lambda: metrics.regression_metrics([], []), "y_true"),
    (lambda: metrics.calibration_curve([0, 1], [0.1, 0.2], n_bins=0), "n_bins"),
    (lambda: metrics.sample_size_paired(0.1, 0.05), "discordant"),
    (lambda: metrics.bootstrap_ci(skm.roc_auc_score, [0, 1], [0.1, 0.2], level=1.0), "level"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
