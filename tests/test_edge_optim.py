"""Edge cases of dlbook.optim (issue 8): long runs (500 steps) against torch.optim in float64 and
float32 with 0-d parameters among the tensors, and the gradient-noise formula at B = N."""
import numpy as np
import pytest
import torch

from dlbook import optim

TORCH = {"sgd": torch.optim.SGD, "adagrad": torch.optim.Adagrad, "rmsprop": torch.optim.RMSprop,
         "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
CASES = [   # one per optimizer with most options on (test_optim covers each option over 120 steps)
    ("sgd", dict(lr=0.01, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.5)),
    ("rmsprop", dict(lr=0.005, momentum=0.9, centered=True, weight_decay=0.01)),
    ("adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("adamw", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.3)),
]
SHAPES = ((), (3, 4), (5,), ())          # two 0-d parameters (a scalar weight, a scalar bias)
# measured worst drift over these cases: 7e-16 (float64) and 4e-7 (float32, where one rounding is
# 6e-8): the tolerances leave a margin of ~1000 and ~25 (checked every 25 steps and at the end)
TOL = {torch.float64: 1e-12, torch.float32: 1e-5}


def _run(name, kwargs, dtype, num_steps=500, seed=0):
    g = torch.Generator().manual_seed(seed)
    targets = [torch.randn(s, generator=g, dtype=torch.float64).to(dtype) for s in SHAPES]
    scales = [(torch.rand(s, generator=g, dtype=torch.float64) * 3 + 0.1).to(dtype) for s in SHAPES]
    t_params = [torch.randn(s, generator=g, dtype=torch.float64).to(dtype).requires_grad_() for s in SHAPES]
    n_params = [p.detach().numpy().copy() for p in t_params]
    t_opt = TORCH[name](t_params, foreach=False, **kwargs)
    n_opt = optim.OPTIMIZERS[name](n_params, **kwargs)
    worst = 0.0
    for step in range(1, num_steps + 1):
        t_opt.zero_grad()
        sum((c * (p - t) ** 2).sum() + 0.1 * ((p - t) ** 4).sum()
            for p, t, c in zip(t_params, targets, scales)).backward()
        grads = [p.grad.numpy().copy() for p in t_params]     # one gradient, fed to both
        n_opt.step(grads)
        t_opt.step()
        if step % 25:
            continue
        for p, q in zip(n_params, t_params):
            q = q.detach().numpy()
            assert p.shape == q.shape and p.dtype == q.dtype
            worst = max(worst, float(np.abs(p - q).max()) / max(1.0, float(np.abs(q).max())))
    return worst


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_500_steps_with_0d_parameters_match_torch(name, kwargs, dtype):
    assert _run(name, kwargs, dtype) < TOL[dtype]


def test_no_maximize_flag():
    # Deliberate difference (docstring): minimise −f instead of passing maximize=True.
    with pytest.raises(TypeError):
        optim.SGD([np.zeros(2)], lr=0.1, maximize=True)


@pytest.mark.parametrize("N", [1, 2, 5])
def test_gradient_noise_is_zero_when_the_batch_is_the_dataset(N):
    # Defect 8: N = B = 1 gave 0/0 = NaN; a batch holding every example has no noise.
    G = np.random.default_rng(N).standard_normal((N, 3))
    assert optim.gradient_noise(G, N) == 0.0
    np.testing.assert_allclose(optim.minibatch_gradients(G, N, num_batches=3), np.tile(G.mean(0), (3, 1)),
                               rtol=1e-12, atol=1e-15)
