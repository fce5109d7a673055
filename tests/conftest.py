"""Shared test settings (deterministic hypothesis runs with no per-example deadline on the 2-core
CI) and a shared check for persistent interactive figures."""
import io
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from PIL import Image

settings.register_profile("dlbook", deadline=None, max_examples=40, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dlbook")


@pytest.fixture(scope="module")
def torch_float64():
    """torch's default dtype is float64 inside a test module (its layers then match our NumPy
    float64 code to ~1e-12); the previous default comes back for the other modules."""
    import torch
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


@pytest.fixture
def persistent_frames_match():
    """A check for `interactive(..., clear=False)` figures: `check(make)` with make(clear) ->
    Interactive renders every static frame on one persistent figure, in order and then shuffled,
    and every `every`-th frame must be pixel-identical to the same frame drawn on a cleared figure
    (so updating artists in place never leaves a stale line, label or message behind)."""
    def check(make, extra=12, seed=13, every=4):
        persistent, fresh = make(False), make(True)
        names = list(persistent.params)
        combos = list(itertools.product(*(persistent.params[n].static for n in names)))
        order = combos + [combos[i] for i in np.random.default_rng(seed).permutation(len(combos))[:extra]]
        for k, combo in enumerate(order):
            values = dict(zip(names, combo))
            png = persistent.render(**values)
            assert png[:8] == b"\x89PNG\r\n\x1a\n"
            if k % every == 0:
                a = np.asarray(Image.open(io.BytesIO(png)))
                b = np.asarray(Image.open(io.BytesIO(fresh.render(**values))))
                assert np.array_equal(a, b), values
        return len(order)
    return check
