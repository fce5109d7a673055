"""Data augmentation from scratch in NumPy: image transforms, mixup/cutmix, and text edits.

Images are float arrays (H, W) or (H, W, C) with values in [0, 1]; every random choice
comes from a `numpy.random.Generator` passed in (or a seed), so an augmentation repeats.
"""
import math

import numpy as np

from dlbook.checks import check_int, check_real
from dlbook.util import as_generator


def _check_image(img, name="img"):
    img = np.asarray(img, dtype=np.float64)
    if img.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (H, W) or (H, W, C), got {img.shape}")
    if img.shape[0] < 1 or img.shape[1] < 1:
        raise ValueError(f"{name} must be non-empty, got shape {img.shape}")
    if not np.all(np.isfinite(img)):
        raise ValueError(f"{name} contains NaN or inf")
    return img


# -- geometry --------------------------------------------------------------------------------
def hflip(img):
    """Mirror left-right: out[i, j] = img[i, W-1-j]."""
    return _check_image(img)[:, ::-1].copy()


def vflip(img):
    """Mirror top-bottom: out[i, j] = img[H-1-i, j]."""
    return _check_image(img)[::-1].copy()


def bilinear_sample(img, rows, cols, fill=0.0):
    """Sample img at real (rows, cols) coordinates; neighbours outside the image count as `fill`.

    img (H, W[, C]); rows, cols any equal shape S -> output S (+ (C,)).
    """
    img = _check_image(img)
    H, W = img.shape[:2]
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    dr, dc = rows - r0, cols - c0                      # fractional offsets in [0, 1)
    if img.ndim == 3:
        dr, dc = dr[..., None], dc[..., None]
    out = 0.0
    for ri, wr in ((r0, 1 - dr), (r0 + 1, dr)):
        for ci, wc in ((c0, 1 - dc), (c0 + 1, dc)):
            inside = (ri >= 0) & (ri < H) & (ci >= 0) & (ci < W)
            v = img[np.clip(ri, 0, H - 1), np.clip(ci, 0, W - 1)]
            mask = inside[..., None] if img.ndim == 3 else inside
            out = out + wr * wc * np.where(mask, v, fill)
    return out


def rotate(img, angle, fill=0.0):
    """Rotate counter-clockwise by `angle` degrees about the centre, same size, bilinear.

    Output pixel (i, j) reads the input at R(-angle) applied to (i, j) around c = ((H-1)/2, (W-1)/2),
    as `scipy.ndimage.rotate(img, angle, reshape=False, order=1, mode="grid-constant")`.
    """
    img = _check_image(img)
    angle = check_real("angle", angle)
    H, W = img.shape[:2]
    ci, cj = (H - 1) / 2, (W - 1) / 2
    i, j = np.meshgrid(np.arange(H, dtype=float), np.arange(W, dtype=float), indexing="ij")
    t = math.radians(angle)
    # inverse map: rotate the output grid clockwise (on screen, rows pointing down) to find the source
    rows = ci + (i - ci) * math.cos(t) + (j - cj) * math.sin(t)
    cols = cj - (i - ci) * math.sin(t) + (j - cj) * math.cos(t)
    return bilinear_sample(img, rows, cols, fill)


def resize(img, height, width):
    """Bilinear resize to (height, width), as torch `interpolate(mode="bilinear", align_corners=False)`."""
    img = _check_image(img)
    height, width = check_int("height", height, 1), check_int("width", width, 1)
    H, W = img.shape[:2]
    # pixel centres: src = (dst + 0.5) * in/out - 0.5, clamped at 0 like torch
    rows = np.maximum((np.arange(height) + 0.5) * H / height - 0.5, 0.0)
    cols = np.maximum((np.arange(width) + 0.5) * W / width - 0.5, 0.0)
    rows = np.minimum(rows, H - 1)
    cols = np.minimum(cols, W - 1)
    R, C = np.meshgrid(rows, cols, indexing="ij")
    return bilinear_sample(img, R, C, fill=0.0)


def crop(img, top, left, height, width):
    """The window img[top:top+height, left:left+width]; ValueError if it leaves the image."""
    img = _check_image(img)
    H, W = img.shape[:2]
    top, left = check_int("top", top, 0), check_int("left", left, 0)
    height, width = check_int("height", height, 0), check_int("width", width, 0)
    if height < 1 or width < 1 or top + height > H or left + width > W:
        raise ValueError(f"height/width: window ({top}, {left}, {height}, {width}) does not fit "
                         f"in an image of size ({H}, {W})")
    return img[top:top + height, left:left + width].copy()


def random_resized_crop(img, scale, rng=None):
    """Crop a random window holding a fraction `scale` of the area (same aspect), resize back."""
    img = _check_image(img)
    scale = check_real("scale", scale, 0.0, 1.0)
    if scale <= 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    rng = as_generator(rng)
    H, W = img.shape[:2]
    h, w = max(1, round(H * math.sqrt(scale))), max(1, round(W * math.sqrt(scale)))
    top, left = int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1))
    return resize(crop(img, top, left, h, w), H, W)


# -- colour ----------------------------------------------------------------------------------
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601 weights, as PIL's "L" mode


def grayscale(img):
    """Luma of an RGB image (H, W, 3) -> (H, W)."""
    img = _check_image(img)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"img must be RGB with shape (H, W, 3), got {img.shape}")
    return img @ LUMA


def _blend(img, other, factor):
    # factor 0 -> other, 1 -> img, >1 extrapolates away from other; clip to the valid range
    return np.clip(other + factor * (img - other), 0.0, 1.0)


def adjust_brightness(img, factor):
    """Blend with black: img * factor (clipped); PIL's ImageEnhance.Brightness."""
    img = _check_image(img)
    return _blend(img, np.zeros_like(img), check_real("factor", factor, 0.0))


def adjust_contrast(img, factor):
    """Blend with the mean grey level; PIL's ImageEnhance.Contrast."""
    img = _check_image(img)
    mean = grayscale(img).mean() if img.ndim == 3 else img.mean()
    return _blend(img, np.full_like(img, mean), check_real("factor", factor, 0.0))


def adjust_saturation(img, factor):
    """Blend with the image's own grey version; PIL's ImageEnhance.Color."""
    img = _check_image(img)
    grey = grayscale(img)[..., None]
    return _blend(img, np.broadcast_to(grey, img.shape), check_real("factor", factor, 0.0))


def color_jitter(img, strength, rng=None):
    """Brightness, contrast, saturation (RGB only) each multiplied by a factor in [1-strength, 1+strength]."""
    strength = check_real("strength", strength, 0.0, 1.0)
    rng = as_generator(rng)
    b, c, s = rng.uniform(1 - strength, 1 + strength, size=3)
    out = adjust_contrast(adjust_brightness(img, b), c)
    return adjust_saturation(out, s) if out.ndim == 3 else out   # grey images have no saturation


# -- erasing and mixing ----------------------------------------------------------------------
def box_for_area(H, W, area, rng=None):
    """A random box (top, left, height, width) covering `area` (fraction) with the image's aspect.

    Its centre is uniform over the image and the box is clipped at the border, as in CutMix,
    so the box actually pasted can be smaller than asked.
    """
    area = check_real("area", area, 0.0, 1.0)
    rng = as_generator(rng)
    h, w = round(H * math.sqrt(area)), round(W * math.sqrt(area))
    cy, cx = int(rng.integers(0, H)), int(rng.integers(0, W))
    top, bottom = np.clip([cy - h // 2, cy - h // 2 + h], 0, H)
    left, right = np.clip([cx - w // 2, cx - w // 2 + w], 0, W)
    return int(top), int(left), int(bottom - top), int(right - left)


def cutout(img, area, rng=None, fill=0.0):
    """Erase a random box covering about `area` of the image (Cutout / random erasing)."""
    img = _check_image(img).copy()
    top, left, h, w = box_for_area(img.shape[0], img.shape[1], area, rng)
    img[top:top + h, left:left + w] = fill
    return img


def one_hot(y, num_classes):
    """(N,) int labels -> (N, num_classes) float one-hot rows."""
    y = np.asarray(y)
    if not np.issubdtype(y.dtype, np.integer) or y.ndim != 1:
        raise ValueError(f"y must be a 1-D int array, got dtype {y.dtype}, shape {y.shape}")
    num_classes = check_int("num_classes", num_classes, 1)
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"y must lie in [0, {num_classes}), got values in [{y.min()}, {y.max()}]")
    return np.eye(num_classes)[y]


def _check_pair(x1, x2, t1, t2):
    x1, x2 = np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=np.float64)
    t1, t2 = np.asarray(t1, dtype=np.float64), np.asarray(t2, dtype=np.float64)
    if x1.shape != x2.shape:
        raise ValueError(f"x2 must have the shape of x1 {x1.shape}, got {x2.shape}")
    if t1.shape != t2.shape:
        raise ValueError(f"t2 must have the shape of t1 {t1.shape}, got {t2.shape}")
    return x1, x2, t1, t2


def mixup(x1, t1, x2, t2, lam):
    """Blend two examples and their (one-hot or soft) targets: lam * first + (1 - lam) * second."""
    x1, x2, t1, t2 = _check_pair(x1, x2, t1, t2)
    lam = check_real("lam", lam, 0.0, 1.0)
    return lam * x1 + (1 - lam) * x2, lam * t1 + (1 - lam) * t2


def cutmix(x1, t1, x2, t2, lam, rng=None):
    """Paste a box of x2 covering about (1 - lam) of the area into x1 (images (H, W[, C])).

    The target weight is the fraction of pixels really kept from x1 (the box may be clipped):
    returns (x, t, lam_actual) with t = lam_actual * t1 + (1 - lam_actual) * t2.
    """
    x1, x2, t1, t2 = _check_pair(x1, x2, t1, t2)
    _check_image(x1, "x1")
    lam = check_real("lam", lam, 0.0, 1.0)
    H, W = x1.shape[:2]
    top, left, h, w = box_for_area(H, W, 1 - lam, rng)
    x = x1.copy()
    x[top:top + h, left:left + w] = x2[top:top + h, left:left + w]
    lam_actual = 1 - h * w / (H * W)
    return x, lam_actual * t1 + (1 - lam_actual) * t2, lam_actual


def augmented_copies(X, T, kind, copies, side=8, rng=None):
    """X (N, side²) with targets T (N, C), followed by `copies` augmented versions of every row.

    'rotation': up to ±15°, same target; 'mixup': a random partner, λ ~ Beta(0.4, 0.4);
    'cutmix': a random partner, λ ~ Beta(1, 1), the target weighted by the pixels kept.
    Returns (X_aug, T_aug) of (copies + 1)·N rows.
    """
    X, T = np.asarray(X, dtype=np.float64), np.asarray(T, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != side * side or T.ndim != 2 or len(T) != len(X):
        raise ValueError(f"X must be (N, {side * side}) and T (N, C), got {X.shape} and {T.shape}")
    if kind not in ("rotation", "mixup", "cutmix"):
        raise ValueError(f"kind must be rotation, mixup or cutmix; got {kind!r}")
    copies, rng = check_int("copies", copies, 0), as_generator(rng)
    imgs, Xs, Ts = X.reshape(-1, side, side), [X], [T]
    for _ in range(copies):
        partner = rng.permutation(len(X))
        rows = []
        for i, j in enumerate(partner):
            if kind == "rotation":
                rows.append((rotate(imgs[i], rng.uniform(-15, 15)), T[i]))
            elif kind == "mixup":
                rows.append(mixup(imgs[i], T[i], imgs[j], T[j], rng.beta(0.4, 0.4)))
            else:
                rows.append(cutmix(imgs[i], T[i], imgs[j], T[j], rng.beta(1.0, 1.0), rng)[:2])
        Xs.append(np.stack([x.ravel() for x, _ in rows]))
        Ts.append(np.stack([t for _, t in rows]))
    return np.concatenate(Xs), np.concatenate(Ts)


def augment(img, name, strength, rng=None):
    """One augmentation by name at `strength` in [0, 1] (0 = identity), for figures and loops.

    flip: flips with probability `strength`; rotation: angle up to 45°·strength;
    crop: keeps an area of 1 - 0.75·strength; colour: jitter ±strength; cutout: erases 0.5·strength.
    """
    strength = check_real("strength", strength, 0.0, 1.0)
    rng = as_generator(rng)
    if name == "flip":
        return hflip(img) if rng.uniform() < strength else _check_image(img).copy()
    if name == "rotation":
        return rotate(img, rng.uniform(-45, 45) * strength)
    if name == "crop":
        return random_resized_crop(img, 1 - 0.75 * strength, rng)
    if name == "colour":
        return color_jitter(img, strength, rng)
    if name == "cutout":
        return cutout(img, 0.5 * strength, rng)
    raise ValueError(f"name must be one of flip, rotation, crop, colour, cutout; got {name!r}")


# -- audio (1-D waveforms) ---------------------------------------------------------------------
def _check_signal(signal):
    s = np.asarray(signal, dtype=np.float64)
    if s.ndim != 1 or s.size < 2 or not np.all(np.isfinite(s)):
        raise ValueError(f"signal must be a finite 1-D array of >= 2 samples, got shape {s.shape}")
    return s


def add_noise(signal, snr_db, rng=None):
    """Add white Gaussian noise scaled so the signal-to-noise ratio is exactly `snr_db` decibels:
    10·log10(mean(signal²) / mean(noise²)) = snr_db."""
    s = _check_signal(signal)
    snr_db = check_real("snr_db", snr_db, -100.0, 200.0)
    noise = as_generator(rng).standard_normal(s.size)
    noise *= math.sqrt(np.mean(s ** 2) / np.mean(noise ** 2) / 10 ** (snr_db / 10))
    return s + noise


def time_shift(signal, shift):
    """Delay the signal by `shift` samples (advance it if negative), filling with silence."""
    s = _check_signal(signal)
    shift = check_int("shift", shift, -s.size, s.size)
    out = np.zeros_like(s)
    if shift >= 0:
        out[shift:] = s[:s.size - shift]
    else:
        out[:shift] = s[-shift:]
    return out


def speed_change(signal, factor):
    """Play the signal `factor` times faster: resample linearly to round(N / factor) samples.

    Duration shrinks and every frequency rises by `factor` (pitch and tempo change together).
    """
    s = _check_signal(signal)
    factor = check_real("factor", factor, 0.1, 10.0)
    m = max(2, round(s.size / factor))
    return np.interp(np.linspace(0, s.size - 1, m), np.arange(s.size), s)


# -- text ------------------------------------------------------------------------------------
SYNONYMS = {
    "good": ["fine", "great", "nice"], "bad": ["poor", "awful"], "movie": ["film", "picture"],
    "big": ["large", "huge"], "small": ["little", "tiny"], "quick": ["fast", "rapid"],
    "happy": ["glad", "cheerful"], "sad": ["unhappy", "gloomy"], "smart": ["clever", "bright"],
    "start": ["begin", "launch"], "end": ["finish", "close"], "show": ["display", "reveal"],
    "very": ["really", "truly"], "funny": ["amusing", "comic"], "boring": ["dull", "tedious"],
    "story": ["plot", "tale"], "actor": ["performer", "player"], "loved": ["adored", "enjoyed"],
}


def _check_words(words):
    if isinstance(words, str) or not all(isinstance(w, str) for w in words):
        raise ValueError("words must be a list of strings (split the sentence first)")
    return list(words)


def synonym_replace(words, n, rng=None, table=None):
    """Replace up to n distinct words that have an entry in `table` by a random synonym."""
    words, n, rng = _check_words(words), check_int("n", n, 0), as_generator(rng)
    table = SYNONYMS if table is None else table
    candidates = [i for i, w in enumerate(words) if w.lower() in table]
    for i in rng.permutation(candidates)[:n]:
        options = table[words[i].lower()]
        words[i] = options[int(rng.integers(len(options)))]
    return words


def random_deletion(words, p, rng=None):
    """Drop each word with probability p; keep one random word if all would go."""
    words, rng = _check_words(words), as_generator(rng)
    p = check_real("p", p, 0.0, 1.0)
    if not words:
        return []
    keep = rng.uniform(size=len(words)) >= p
    if not keep.any():
        return [words[int(rng.integers(len(words)))]]
    return [w for w, k in zip(words, keep) if k]


def random_swap(words, n, rng=None):
    """Swap the words at two random positions, n times."""
    words, n, rng = _check_words(words), check_int("n", n, 0), as_generator(rng)
    if len(words) < 2:
        return words
    for _ in range(n):
        i, j = rng.choice(len(words), size=2, replace=False)
        words[i], words[j] = words[j], words[i]
    return words


def random_insertion(words, n, rng=None, table=None):
    """Insert a synonym of a random table word at a random position, n times."""
    words, n, rng = _check_words(words), check_int("n", n, 0), as_generator(rng)
    table = SYNONYMS if table is None else table
    for _ in range(n):
        candidates = [w for w in words if w.lower() in table]
        if not candidates:
            break
        options = table[candidates[int(rng.integers(len(candidates)))].lower()]
        words.insert(int(rng.integers(len(words) + 1)), options[int(rng.integers(len(options)))])
    return words
