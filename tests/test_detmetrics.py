"""dlbook.detmetrics against pycocotools: COCOeval on the same boxes, and its box IoU (mask.iou)."""
import contextlib
import io

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
from pycocotools import mask as coco_mask

from dlbook import detmetrics as dm


def coco_stats(gts, dets, n_classes):
    gt, res = dm.to_coco(gts, dets, range(n_classes))
    with contextlib.redirect_stdout(io.StringIO()):
        c = COCO()
        c.dataset = gt
        c.createIndex()
        r = c.loadRes(res) if res else COCO()
        if not res:
            return None
        E = COCOeval(c, r, "bbox")
        E.evaluate(); E.accumulate(); E.summarize()
    return E.stats


def random_set(seed, n_images, n_classes, integer):
    rng = np.random.default_rng(seed)
    gts, dets = [], []
    for _ in range(n_images):
        k, m = rng.integers(0, 5), rng.integers(0, 7)
        def boxes(n):
            xy = rng.integers(0, 20, (n, 2)) if integer else rng.uniform(0, 20, (n, 2))
            wh = rng.integers(1, 10, (n, 2)) if integer else rng.uniform(1, 10, (n, 2))
            return np.c_[xy, xy + wh].astype(float)
        gb = boxes(k)
        db = np.r_[gb[rng.random(k) < 0.6], boxes(m)]             # some exact hits, some random
        db = np.c_[np.minimum(db[:, :2], db[:, 2:]), np.maximum(db[:, :2], db[:, 2:])]
        scores = rng.integers(1, 5, len(db)) / 5 if integer else rng.random(len(db))   # ties when integer
        gts.append((gb, rng.integers(0, n_classes, k)))
        dets.append((db, scores, rng.integers(0, n_classes, len(db))))
    return gts, dets


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 4), st.integers(1, 3), st.booleans())
@example(3, 4, 3, True)                                               # score ties
@example(3, 4, 3, False)
def test_map_matches_cocoeval(seed, n_images, n_classes, integer):
    gts, dets = random_set(seed, n_images, n_classes, integer)
    if sum(len(g[0]) for g in gts) == 0:
        with pytest.raises(ValueError, match="ground_truth"):
            dm.mean_average_precision(gts, dets)
        return
    ref = coco_stats(gts, dets, n_classes)
    if ref is None:                                   # no detections at all: every AP is 0
        assert dm.mean_average_precision(gts, dets)[0] == 0.0
        return
    assert dm.mean_average_precision(gts, dets)[0] == pytest.approx(ref[0], abs=1e-12)
    assert dm.mean_average_precision(gts, dets, 0.5)[0] == pytest.approx(ref[1], abs=1e-12)
    assert dm.mean_average_precision(gts, dets, 0.75)[0] == pytest.approx(ref[2], abs=1e-12)


def test_chapter_set_matches_cocoeval():
    gts, dets = dm.synthetic_detections(6, 2, rng=0)
    ref = coco_stats(gts, dets, 2)
    assert dm.mean_average_precision(gts, dets)[0] == pytest.approx(ref[0], abs=1e-12)
    assert dm.mean_average_precision(gts, dets, 0.5)[0] == pytest.approx(ref[1], abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 100_000), st.integers(0, 6), st.integers(0, 6))
@example(0, 0, 3)                                                     # no true boxes
@example(1, 6, 6)
def test_box_iou_matches_pycocotools(seed, n, m):
    rng = np.random.default_rng(seed)
    def boxes(k):
        xy = rng.uniform(0, 10, (k, 2))
        return np.c_[xy, xy + rng.uniform(0, 5, (k, 2))]
    a, b = boxes(n), boxes(m)
    ours = dm.box_iou(a, b)
    assert ours.shape == (n, m)
    if n and m:
        xywh = lambda z: np.c_[z[:, :2], z[:, 2:] - z[:, :2]]
        ref = coco_mask.iou(xywh(b), xywh(a), np.zeros(n, dtype=np.uint8))    # (n_pred, n_true)
        np.testing.assert_allclose(ours, np.asarray(ref).T, rtol=1e-9, atol=1e-12)


def test_inline_iou_equals_dlbook():
    a, b = [10.0, 20.0, 50.0, 60.0], [30.0, 30.0, 70.0, 80.0]
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(w, 0) * max(h, 0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    assert inter / union == pytest.approx(dm.box_iou([a], [b])[0, 0], abs=1e-15)


def test_touching_and_identical_boxes():
    assert dm.box_iou([[0, 0, 1, 1]], [[1, 0, 2, 1]])[0, 0] == 0.0
    assert dm.box_iou([[0, 0, 1, 1]], [[0, 0, 1, 1]])[0, 0] == 1.0
    assert dm.box_iou([[0, 0, 0, 1]], [[0, 0, 0, 1]])[0, 0] == 0.0          # zero area


@pytest.mark.parametrize("call, name", [
    (lambda: dm.box_iou([[2, 0, 1, 1]], [[0, 0, 1, 1]]), "boxes_true"),
    (lambda: dm.box_iou([[0, 0, 1, 1]], [[0, 3, 1, 1]]), "boxes_pred"),
    (lambda: dm.box_iou([[0, 0, 1]], [[0, 0, 1, 1]]), "boxes_true"),
    (lambda: dm.box_iou([[0, 0, np.nan, 1]], [[0, 0, 1, 1]]), "boxes_true"),
    (lambda: dm.mean_average_precision([(np.zeros((0, 4)), [])], []), "detections"),
])
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
