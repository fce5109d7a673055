"""Tests of dlbook.augment against scipy / PyTorch / PIL references, float64."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp
from scipy import ndimage

from dlbook import augment as A

torch.set_num_threads(1)
images = st.tuples(st.integers(1, 12), st.integers(1, 12), st.sampled_from([0, 1, 3])).flatmap(
    lambda s: hnp.arrays(np.float64, s[:2] if s[2] == 0 else s, elements=st.floats(0, 1)))


@settings(max_examples=30, deadline=None)
@given(img=images)
def test_flips_are_numpy_flips(img):
    np.testing.assert_array_equal(A.hflip(img), np.fliplr(img))
    np.testing.assert_array_equal(A.vflip(img), np.flipud(img))


@settings(max_examples=40, deadline=None)
@given(img=images, angle=st.floats(-360, 360))
def test_rotate_matches_scipy(img, angle):
    ref = ndimage.rotate(img, angle, reshape=False, order=1, mode="grid-constant", cval=0.0)
    np.testing.assert_allclose(A.rotate(img, angle), ref, rtol=0, atol=1e-9)


@settings(max_examples=20, deadline=None)
@given(img=images, angle=st.floats(-180, 180))
def test_rotate_matches_torch_grid_sample(img, angle):
    """Second reference: torch's affine_grid + grid_sample (align_corners=True, zero padding)."""
    H, W = img.shape[:2]
    if H == 1 or W == 1:      # degenerate normalisation; scipy covers these shapes
        return
    x = torch.tensor(img if img.ndim == 3 else img[..., None]).permute(2, 0, 1)[None]
    t = np.radians(angle)
    # grid_sample works in normalized coords in [-1, 1]; convert the pixel-space inverse map
    sx, sy = (W - 1) / 2, (H - 1) / 2
    theta = torch.tensor([[[np.cos(t), -np.sin(t) * sy / sx, 0.0],
                           [np.sin(t) * sx / sy, np.cos(t), 0.0]]])
    grid = torch.nn.functional.affine_grid(theta, x.shape, align_corners=True)
    out = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="zeros",
                                          align_corners=True)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(A.rotate(img, angle), out.reshape(A.rotate(img, angle).shape),
                               rtol=0, atol=1e-9)


def test_rotate_direction_is_counter_clockwise():
    img = np.zeros((5, 5))
    img[2, 2:] = 1.0                              # an arrow pointing right
    out = A.rotate(img, 90)
    np.testing.assert_allclose(out[:3, 2], 1.0)   # now pointing up
    assert out[2, 3:].max() < 1e-12


@settings(max_examples=40, deadline=None)
@given(img=images, h=st.integers(1, 20), w=st.integers(1, 20))
def test_resize_matches_torch_interpolate(img, h, w):
    x = torch.tensor(img if img.ndim == 3 else img[..., None]).permute(2, 0, 1)[None]
    ref = torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    ref = ref[0].permute(1, 2, 0).numpy().reshape(A.resize(img, h, w).shape)
    np.testing.assert_allclose(A.resize(img, h, w), ref, rtol=0, atol=1e-12)


def test_crop_and_random_resized_crop():
    img = np.random.default_rng(0).uniform(size=(10, 12, 3))
    np.testing.assert_array_equal(A.crop(img, 2, 3, 4, 5), img[2:6, 3:8])
    out = A.random_resized_crop(img, 0.5, rng=1)
    assert out.shape == img.shape
    np.testing.assert_array_equal(A.random_resized_crop(img, 1.0, rng=1), img)   # full window
    np.testing.assert_array_equal(out, A.random_resized_crop(img, 0.5, rng=1))   # seeded


def _pil(img):
    from PIL import Image
    return Image.fromarray(np.round(img * 255).astype(np.uint8))


@pytest.mark.parametrize("factor", [0.0, 0.4, 1.0, 1.7])
@pytest.mark.parametrize("kind", ["brightness", "contrast", "saturation"])
def test_colour_matches_pil_imageenhance(kind, factor):
    """PIL works in uint8: agree to within 2/255 after its rounding."""
    from PIL import ImageEnhance
    img = np.round(np.random.default_rng(3).uniform(size=(9, 11, 3)) * 255) / 255
    enhancer = {"brightness": ImageEnhance.Brightness, "contrast": ImageEnhance.Contrast,
                "saturation": ImageEnhance.Color}[kind]
    ref = np.asarray(enhancer(_pil(img)).enhance(factor), dtype=np.float64) / 255
    mine = {"brightness": A.adjust_brightness, "contrast": A.adjust_contrast,
            "saturation": A.adjust_saturation}[kind](img, factor)
    np.testing.assert_allclose(mine, ref, rtol=0, atol=2.5 / 255)


def test_grayscale_matches_pil_L():
    img = np.round(np.random.default_rng(4).uniform(size=(6, 7, 3)) * 255) / 255
    ref = np.asarray(_pil(img).convert("L"), dtype=np.float64) / 255
    np.testing.assert_allclose(A.grayscale(img), ref, atol=1 / 255)


def test_color_jitter_identity_at_zero_strength():
    img = np.random.default_rng(5).uniform(size=(6, 7, 3))
    np.testing.assert_allclose(A.color_jitter(img, 0.0, rng=0), img, atol=1e-12)
    assert not np.allclose(A.color_jitter(img, 0.8, rng=0), img)


@settings(max_examples=40, deadline=None)
@given(H=st.integers(4, 30), W=st.integers(4, 30), area=st.floats(0, 1), seed=st.integers(0, 999))
def test_cutout_erases_one_box_inside_image(H, W, area, seed):
    img = np.ones((H, W))
    out = A.cutout(img, area, rng=seed)
    top, left, h, w = A.box_for_area(H, W, area, np.random.default_rng(seed))
    assert 0 <= top and top + h <= H and 0 <= left and left + w <= W
    assert (out == 0).sum() == h * w
    assert h * w <= round(H * area ** 0.5) * round(W * area ** 0.5)


@settings(max_examples=40, deadline=None)
@given(lam=st.floats(0, 1), seed=st.integers(0, 999))
def test_mixup_loss_is_the_mix_of_losses(lam, seed):
    """CE with the mixed soft target == lam·CE(y1) + (1-lam)·CE(y2) (torch soft-target CE)."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.uniform(size=(8, 8)), rng.uniform(size=(8, 8))
    t1, t2 = A.one_hot(np.array([2]), 5)[0], A.one_hot(np.array([4]), 5)[0]
    x, t = A.mixup(x1, t1, x2, t2, lam)
    np.testing.assert_allclose(x, lam * x1 + (1 - lam) * x2, rtol=1e-15)
    z = torch.tensor(rng.normal(size=(1, 5)))
    mixed = torch.nn.functional.cross_entropy(z, torch.tensor(t)[None]).item()
    parts = (lam * torch.nn.functional.cross_entropy(z, torch.tensor([2]))
             + (1 - lam) * torch.nn.functional.cross_entropy(z, torch.tensor([4]))).item()
    assert mixed == pytest.approx(parts, rel=1e-12)
    assert t.sum() == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(H=st.integers(2, 24), W=st.integers(2, 24), lam=st.floats(0, 1), seed=st.integers(0, 999))
def test_cutmix_label_weight_is_pixel_fraction(H, W, lam, seed):
    """Mix an all-ones image with an all-zeros one: the mean pixel must equal the label weight."""
    x, t, lam_actual = A.cutmix(np.ones((H, W, 3)), [1.0, 0.0], np.zeros((H, W, 3)), [0.0, 1.0],
                                lam, rng=seed)
    assert x.mean() == pytest.approx(lam_actual, abs=1e-12)
    np.testing.assert_allclose(t, [lam_actual, 1 - lam_actual], atol=1e-12)


def test_one_hot_matches_torch():
    y = np.array([0, 3, 1, 3])
    np.testing.assert_array_equal(A.one_hot(y, 4),
                                  torch.nn.functional.one_hot(torch.tensor(y), 4).numpy())


def test_augment_dispatch_identity_at_zero_strength():
    img = np.random.default_rng(6).uniform(size=(10, 10, 3))
    for name in ["flip", "rotation", "crop", "colour", "cutout"]:
        np.testing.assert_allclose(A.augment(img, name, 0.0, rng=0), img, atol=1e-12)


# -- text ------------------------------------------------------------------------------------
SENTENCE = "the movie was very good and the actor was funny".split()


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 6), seed=st.integers(0, 999))
def test_synonym_replace_only_uses_table(n, seed):
    out = A.synonym_replace(SENTENCE, n, rng=seed)
    assert len(out) == len(SENTENCE)
    changed = [(a, b) for a, b in zip(SENTENCE, out) if a != b]
    assert len(changed) == min(n, sum(w in A.SYNONYMS for w in SENTENCE))
    assert all(b in A.SYNONYMS[a] for a, b in changed)
    assert out == A.synonym_replace(SENTENCE, n, rng=seed)          # fixed seed repeats


@settings(max_examples=30, deadline=None)
@given(p=st.floats(0, 1), seed=st.integers(0, 999))
def test_random_deletion_keeps_order_and_is_never_empty(p, seed):
    out = A.random_deletion(SENTENCE, p, rng=seed)
    assert 1 <= len(out) <= len(SENTENCE)
    it = iter(SENTENCE)
    assert all(w in it for w in out)                                  # a subsequence
    assert A.random_deletion(SENTENCE, 0.0, rng=seed) == SENTENCE


@settings(max_examples=30, deadline=None)
@given(n=st.integers(0, 5), seed=st.integers(0, 999))
def test_random_swap_and_insertion(n, seed):
    out = A.random_swap(SENTENCE, n, rng=seed)
    assert sorted(out) == sorted(SENTENCE)
    ins = A.random_insertion(SENTENCE, n, rng=seed)
    assert len(ins) == len(SENTENCE) + n
    extra = list(ins)
    for w in SENTENCE:
        extra.remove(w)
    assert all(any(e in v for v in A.SYNONYMS.values()) for e in extra)


def test_bad_input_names_argument():
    with pytest.raises(ValueError, match="img"):
        A.hflip(np.zeros(5))
    with pytest.raises(ValueError, match="angle"):
        A.rotate(np.zeros((3, 3)), float("nan"))
    with pytest.raises(ValueError, match="height"):
        A.resize(np.zeros((3, 3)), 0, 2)
    with pytest.raises(ValueError, match="height"):
        A.crop(np.zeros((3, 3)), 2, 0, 2, 2)
    with pytest.raises(ValueError, match="factor"):
        A.adjust_brightness(np.zeros((3, 3, 3)), -1)
    with pytest.raises(ValueError, match="lam"):
        A.mixup(np.zeros(3), [1, 0], np.zeros(3), [0, 1], 1.5)
    with pytest.raises(ValueError, match="x2"):
        A.mixup(np.zeros(3), [1, 0], np.zeros(4), [0, 1], 0.5)
    with pytest.raises(ValueError, match="area"):
        A.cutout(np.zeros((3, 3)), 2.0)
    with pytest.raises(ValueError, match="name"):
        A.augment(np.zeros((3, 3)), "shear", 0.5)
    with pytest.raises(ValueError, match="words"):
        A.random_swap("a sentence", 1)
    with pytest.raises(ValueError, match="p"):
        A.random_deletion(["a"], 1.5)
    with pytest.raises(ValueError, match="num_classes"):
        A.one_hot(np.array([0, 1]), 0)


# -- audio -----------------------------------------------------------------------------------
signals = hnp.arrays(np.float64, st.integers(8, 200), elements=st.floats(-1, 1)).filter(
    lambda s: np.mean(s ** 2) > 1e-6)


@settings(max_examples=40, deadline=None)
@given(signal=signals, snr=st.floats(-10, 40), seed=st.integers(0, 1000))
def test_add_noise_has_the_asked_snr(signal, snr, seed):
    noisy = A.add_noise(signal, snr, rng=seed)
    noise = noisy - signal
    assert 10 * np.log10(np.mean(signal ** 2) / np.mean(noise ** 2)) == pytest.approx(snr, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(signal=signals, data=st.data())
def test_time_shift_matches_scipy_shift(signal, data):
    shift = data.draw(st.integers(-len(signal), len(signal)))
    ref = ndimage.shift(signal, shift, order=0, mode="constant", cval=0.0)
    np.testing.assert_array_equal(A.time_shift(signal, shift), ref)


@settings(max_examples=40, deadline=None)
@given(signal=signals, factor=st.floats(0.5, 2.0))
def test_speed_change_matches_torch_linear_interpolate(signal, factor):
    out = A.speed_change(signal, factor)
    m = max(2, round(len(signal) / factor))
    ref = torch.nn.functional.interpolate(torch.tensor(signal)[None, None], size=m, mode="linear",
                                          align_corners=True)[0, 0].numpy()
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)


def test_speed_change_raises_the_pitch():
    t = np.arange(8000) / 8000
    tone = np.sin(2 * np.pi * 440 * t)
    fast = A.speed_change(tone, 1.25)                                     # still 8000 samples/s
    freq = np.fft.rfftfreq(len(fast), 1 / 8000)[np.argmax(np.abs(np.fft.rfft(fast)))]
    assert freq == pytest.approx(550, abs=2)


def test_audio_bad_input():
    with pytest.raises(ValueError, match="signal"):
        A.add_noise(np.ones((2, 3)), 10)
    with pytest.raises(ValueError, match="snr_db"):
        A.add_noise(np.ones(5), np.nan)
    with pytest.raises(ValueError, match="shift"):
        A.time_shift(np.ones(5), 6)
    with pytest.raises(ValueError, match="factor"):
        A.speed_change(np.ones(5), 0.0)


@pytest.mark.parametrize("kind", ["rotation", "mixup", "cutmix"])
def test_augmented_copies_targets_follow_the_pixels(kind):
    """Image i is the constant c_i, label i: the weight of each label is the share of its pixels."""
    N = 6
    c = np.arange(1, N + 1) / 8.0
    X, T = np.repeat(c[:, None], 64, 1), A.one_hot(np.arange(N), N)
    Xa, Ta = A.augmented_copies(X, T, kind, copies=3, rng=0)
    assert Xa.shape == (4 * N, 64) and Ta.shape == (4 * N, N)
    np.testing.assert_array_equal(Xa[:N], X)
    np.testing.assert_allclose(Ta.sum(1), 1.0, rtol=0, atol=1e-12)
    if kind == "rotation":
        np.testing.assert_array_equal(Ta[N:], np.tile(T, (3, 1)))
        return
    for x, t in zip(Xa[N:], Ta[N:]):
        if kind == "mixup":                                   # pixel value = Σ_k t_k c_k
            np.testing.assert_allclose(x, t @ c, rtol=0, atol=1e-12)
        else:                                                 # pixel counts per source image
            share = np.array([np.mean(np.isclose(x, ck)) for ck in c])
            np.testing.assert_allclose(share, t, rtol=0, atol=1e-12)


def test_augmented_copies_bad_input():
    X, T = np.zeros((3, 64)), np.eye(3)
    with pytest.raises(ValueError, match="kind"):
        A.augmented_copies(X, T, "flip", 1)
    with pytest.raises(ValueError, match="X must"):
        A.augmented_copies(X[:, :10], T, "mixup", 1)
    with pytest.raises(ValueError, match="copies"):
        A.augmented_copies(X, T, "mixup", -1)
