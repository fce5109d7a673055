"""Object-detection metrics from scratch: box IoU and COCO-style average precision
(greedy matching by score, 101-point interpolated precision, mAP over classes and IoU thresholds),
written to give the same numbers as pycocotools' COCOeval for boxes (maxDets 100, area 'all').

Boxes are (x1, y1, x2, y2) with x2 >= x1 and y2 >= y1.
Ground truth: a list over images of (boxes (n, 4), labels (n,)).
Detections: a list over images of (boxes (m, 4), scores (m,), labels (m,)).
"""
import numpy as np

from dlbook.checks import finite_array

# COCO's thresholds, built exactly as COCOeval builds them (0.5, 0.55, ..., 0.95)
COCO_IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
COCO_RECALL_POINTS = np.linspace(0.0, 1.0, int(np.round((1.0 - 0.0) / 0.01)) + 1, endpoint=True)


def check_boxes(name, boxes):
    """A finite (n, 4) array of (x1, y1, x2, y2) boxes with x2 >= x1 and y2 >= y1."""
    boxes = finite_array(name, np.reshape(boxes, (-1, 4)) if np.size(boxes) == 0 else boxes, 2)
    if boxes.shape[1] != 4:
        raise ValueError(f"{name} must have shape (n, 4), got {boxes.shape}")
    if np.any(boxes[:, 2] < boxes[:, 0]) or np.any(boxes[:, 3] < boxes[:, 1]):
        raise ValueError(f"{name} must have x2 >= x1 and y2 >= y1 (corner format x1, y1, x2, y2)")
    return boxes


def box_iou(boxes_true, boxes_pred):
    """IoU matrix (n_true, n_pred): area of intersection / area of union; 0 when they do not overlap."""
    a, b = check_boxes("boxes_true", boxes_true), check_boxes("boxes_pred", boxes_pred)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0])
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1])
    inter = np.where((w > 0) & (h > 0), w * h, 0.0)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(inter > 0, inter / union, 0.0)


def match_detections(iou, scores, threshold):
    """Greedy COCO matching in one image: detections in decreasing score order each take the
    unmatched ground-truth box of highest IoU (>= threshold; on ties the later box). Returns a
    boolean array: is each detection (in the given order) a true positive?"""
    order = np.argsort(-np.asarray(scores), kind="mergesort")
    taken = np.zeros(iou.shape[0], dtype=bool)
    tp = np.zeros(len(order), dtype=bool)
    thr = min(threshold, 1 - 1e-10)
    for d in order:
        best, m = thr, -1
        for g in range(iou.shape[0]):
            if taken[g] or iou[g, d] < best:
                continue
            best, m = iou[g, d], g
        if m >= 0:
            taken[m], tp[d] = True, True
    return tp


def _check_sets(ground_truth, detections):
    if len(ground_truth) != len(detections):
        raise ValueError(f"detections must have one entry per image ({len(ground_truth)}), got {len(detections)}")
    gts = []
    for boxes, labels in ground_truth:
        boxes, labels = check_boxes("ground_truth boxes", boxes), np.asarray(labels).ravel()
        if len(labels) != len(boxes):
            raise ValueError("ground_truth labels must have one entry per box")
        gts.append((boxes, labels))
    dets = []
    for boxes, scores, labels in detections:
        boxes = check_boxes("detections boxes", boxes)
        scores, labels = finite_array("detections scores", scores).ravel(), np.asarray(labels).ravel()
        if not len(boxes) == len(scores) == len(labels):
            raise ValueError("detections scores and labels must have one entry per box")
        dets.append((boxes, scores, labels))
    return gts, dets


def class_pr(ground_truth, detections, label, threshold):
    """Pooled over images, for one class at one IoU threshold: (tp flags sorted by score,
    scores sorted, number of ground-truth boxes)."""
    flags, scores, n_gt = [], [], 0
    for (gb, gl), (db, ds, dl) in zip(ground_truth, detections):
        g, d = gb[gl == label], dl == label
        n_gt += len(g)
        s = ds[d]
        order = np.argsort(-s, kind="mergesort")[:100]                  # COCO keeps 100 per image
        flags.append(match_detections(box_iou(g, db[d][order]), s[order], threshold))
        scores.append(s[order])
    flags, scores = np.concatenate(flags), np.concatenate(scores)
    order = np.argsort(-scores, kind="mergesort")
    return flags[order], scores[order], n_gt


def coco_ap(tp_flags, n_gt):
    """COCO AP: precision made non-increasing (its running max from the right), read at the 101
    recall levels 0, 0.01, ..., 1 (0 where the recall is never reached), averaged."""
    tp = np.cumsum(tp_flags)
    fp = np.cumsum(~tp_flags)
    recall = tp / n_gt
    precision = tp / (tp + fp + np.spacing(1))
    precision = np.maximum.accumulate(precision[::-1])[::-1] if precision.size else precision
    idx = np.searchsorted(recall, COCO_RECALL_POINTS, side="left")   # first rank reaching each level
    q = np.zeros(COCO_RECALL_POINTS.size)
    ok = idx < precision.size
    q[ok] = precision[idx[ok]]
    return float(np.mean(q))


def step_ap(tp_flags, n_gt):
    """All-point AP without interpolation, scikit-learn's definition sum_k (R_k - R_{k-1}) P_k."""
    tp = np.cumsum(tp_flags)
    precision = tp / np.arange(1, tp.size + 1)
    recall = tp / n_gt
    return float(np.sum(np.diff(np.r_[0, recall]) * precision))


def mean_average_precision(ground_truth, detections, iou_thresholds=COCO_IOU_THRESHOLDS):
    """COCO mAP: AP per (class, IoU threshold), averaged over the classes that have ground truth
    and over the thresholds. Returns (mAP, {label: AP averaged over thresholds})."""
    gts, dets = _check_sets(ground_truth, detections)
    labels = np.unique(np.concatenate([gl for _, gl in gts] + [np.zeros(0)]))
    per_class = {}
    for label in labels.tolist():
        aps = []
        for t in np.atleast_1d(iou_thresholds):
            flags, _, n_gt = class_pr(gts, dets, label, t)
            aps.append(coco_ap(flags, n_gt))
        per_class[label] = float(np.mean(aps))
    if not per_class:
        raise ValueError("ground_truth must contain at least one box")
    return float(np.mean(list(per_class.values()))), per_class


def synthetic_detections(n_images=6, n_classes=2, rng=0):
    """A small detection set: random ground-truth boxes; detections are jittered copies (some
    far off, some missing) plus a few false positives, with scores that favour good boxes."""
    rng = np.random.default_rng(rng)
    gts, dets = [], []
    for _ in range(n_images):
        k = rng.integers(1, 5)
        xy = rng.uniform(0, 80, size=(k, 2))
        wh = rng.uniform(10, 40, size=(k, 2))
        gb = np.c_[xy, xy + wh].round(1)
        gl = rng.integers(0, n_classes, k)
        keep = rng.random(k) > 0.15                                # some objects are missed
        jitter = rng.normal(0, 1, size=(k, 4)) * wh[:, [0, 1, 0, 1]] * rng.uniform(0.02, 0.3, (k, 1))
        db = gb + jitter
        db = np.c_[np.minimum(db[:, :2], db[:, 2:]), np.maximum(db[:, :2], db[:, 2:])]
        iou = np.diag(box_iou(gb, db))
        ds = np.clip(0.3 + 0.6 * iou + rng.normal(0, 0.1, k), 0.01, 0.99)
        n_fp = rng.integers(0, 3)
        fxy = rng.uniform(0, 80, size=(n_fp, 2))
        fb = np.c_[fxy, fxy + rng.uniform(10, 40, size=(n_fp, 2))]
        dets.append((np.r_[db[keep], fb].round(1), np.r_[ds[keep], rng.uniform(0.05, 0.6, n_fp)].round(3),
                     np.r_[gl[keep], rng.integers(0, n_classes, n_fp)]))
        gts.append((gb, gl))
    return gts, dets


def to_coco(ground_truth, detections, categories):
    """The same boxes as pycocotools dictionaries: (ground-truth dataset, list of results)."""
    images = [{"id": i + 1} for i in range(len(ground_truth))]
    anns, res = [], []
    for i, (gb, gl) in enumerate(ground_truth):
        for b, l in zip(gb.tolist(), gl.tolist()):
            w, h = b[2] - b[0], b[3] - b[1]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": int(l) + 1,
                         "bbox": [b[0], b[1], w, h], "area": w * h, "iscrowd": 0})
    for i, (db, ds, dl) in enumerate(detections):
        for b, s, l in zip(db.tolist(), ds.tolist(), dl.tolist()):
            res.append({"image_id": i + 1, "category_id": int(l) + 1,
                        "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "score": s})
    cats = [{"id": int(c) + 1, "name": str(c)} for c in categories]
    return {"images": images, "annotations": anns, "categories": cats}, res
