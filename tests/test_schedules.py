"""dlbook.schedules against torch.optim.lr_scheduler, value for value."""
import math

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings, strategies as st

from dlbook import schedules

L = torch.optim.lr_scheduler


def _torch_lrs(make, num_steps, lr=0.7):
    """Learning rate (and momentum) the optimizer actually uses at steps 0 … num_steps−1."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=lr, momentum=0.9)
    sched = make(opt)
    lrs, moms = [], []
    for _ in range(num_steps):
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
        opt.step()
        sched.step()
    return np.array(lrs), np.array(moms)


def _close(a, b):
    return np.allclose(a, b, rtol=1e-10, atol=1e-13)


@settings(max_examples=20, deadline=None)
@given(step_size=st.integers(1, 40), gamma=st.floats(0.05, 1.0), n=st.integers(1, 150))
def test_step_lr(step_size, gamma, n):
    t = np.arange(n)
    assert _close(_torch_lrs(lambda o: L.StepLR(o, step_size, gamma), n)[0],
                  schedules.step_lr(t, 0.7, step_size, gamma))


@settings(max_examples=20, deadline=None)
@given(gamma=st.floats(0.5, 1.0), n=st.integers(1, 150))
def test_exponential_lr(gamma, n):
    assert _close(_torch_lrs(lambda o: L.ExponentialLR(o, gamma), n)[0],
                  schedules.exponential_lr(np.arange(n), 0.7, gamma))


@settings(max_examples=20, deadline=None)
@given(T_max=st.integers(1, 60), eta_min=st.floats(0.0, 0.5), n=st.integers(1, 200))
def test_cosine_lr_including_restarts_beyond_T_max(T_max, eta_min, n):
    assert _close(_torch_lrs(lambda o: L.CosineAnnealingLR(o, T_max, eta_min), n)[0],
                  schedules.cosine_lr(np.arange(n), 0.7, T_max, eta_min))


@settings(max_examples=20, deadline=None)
@given(start=st.floats(0.01, 1.0), end=st.floats(0.0, 1.0), total=st.integers(1, 50),
       n=st.integers(1, 120))
def test_linear_lr(start, end, total, n):
    assert _close(_torch_lrs(lambda o: L.LinearLR(o, start, end, total), n)[0],
                  schedules.linear_lr(np.arange(n), 0.7, start, end, total))


@settings(max_examples=10, deadline=None)
@given(warmup=st.integers(1, 30), extra=st.integers(1, 80), eta_min=st.floats(0.0, 0.1))
def test_warmup_cosine_is_sequential_linear_then_cosine(warmup, extra, eta_min):
    total = warmup + extra
    make = lambda o: L.SequentialLR(o, [L.LinearLR(o, 1e-3, 1.0, warmup),
                                        L.CosineAnnealingLR(o, total - warmup, eta_min)], [warmup])
    assert _close(_torch_lrs(make, total)[0],
                  schedules.warmup_cosine_lr(np.arange(total), 0.7, warmup, total, 1e-3, eta_min))


@settings(max_examples=25, deadline=None)
@given(total=st.integers(20, 200), pct=st.floats(0.05, 0.45), strategy=st.sampled_from(["cos", "linear"]),
       three=st.booleans(), div=st.floats(2.0, 50.0), final_div=st.floats(10.0, 1e5))
def test_one_cycle_lr_and_momentum(total, pct, strategy, three, div, final_div):
    assume(pct * total - 1 > 1e-9)     # else torch divides by zero in the first phase
    make = lambda o: L.OneCycleLR(o, 0.7, total_steps=total, pct_start=pct, anneal_strategy=strategy,
                                  div_factor=div, final_div_factor=final_div, three_phase=three)
    lr_t, mom_t = _torch_lrs(make, total)
    lr, mom = schedules.one_cycle(np.arange(total), 0.7, total, pct, strategy, div, final_div, three)
    assert _close(lr_t, lr) and _close(mom_t, mom)


def test_one_cycle_empty_phase_raises_where_torch_divides_by_zero():
    make = lambda o: L.OneCycleLR(o, 0.7, total_steps=20, pct_start=0.05)
    with pytest.raises(ZeroDivisionError):
        _torch_lrs(make, 20)
    with pytest.raises(ValueError, match="pct_start"):
        schedules.one_cycle(np.arange(20), 0.7, 20, pct_start=0.05)


def test_exponential_is_notes_formula():
    """lr₀·e^(−kt) from the notes is ExponentialLR with γ = e^(−k)."""
    k, t = 0.05, np.arange(50)
    assert _close(schedules.exponential_lr(t, 0.1, math.exp(-k)), 0.1 * np.exp(-k * t))


def test_schedule_names_and_shapes():
    for name in schedules.SCHEDULES:
        lrs = schedules.schedule(name, 100, 1.0, 0.1, 30, 0.3)
        assert lrs.shape == (100,) and np.all(lrs > 0) and np.all(lrs <= 1.0 + 1e-12)
    with pytest.raises(ValueError, match="name"):
        schedules.schedule("triangle")


def test_noisy_quadratic_matches_monte_carlo():
    rng = np.random.default_rng(0)
    h = np.array([0.1, 1.0])
    lrs = np.full(30, 0.5)
    x = np.ones((20000, 2))
    for lr in lrs:
        x = x - lr * (h * x + rng.standard_normal(x.shape) * np.sqrt(0.05 * h))
    mc = 0.5 * (h * x ** 2).sum(axis=1).mean()
    assert abs(schedules.noisy_quadratic_loss(lrs, h)[-1] / mc - 1) < 0.05


@pytest.mark.parametrize("call,arg", [
    (lambda: schedules.step_lr(np.arange(3), 0.1, 0), "step_size"),
    (lambda: schedules.step_lr(np.arange(3), -0.1, 3), "lr"),
    (lambda: schedules.exponential_lr(np.arange(3), 0.1, 0.0), "gamma"),
    (lambda: schedules.cosine_lr(np.arange(3), 0.1, 10, eta_min=-1.0), "eta_min"),
    (lambda: schedules.linear_lr(np.arange(3), 0.1, start_factor=0.0), "start_factor"),
    (lambda: schedules.cosine_lr(np.array([-1]), 0.1, 10), "t"),
    (lambda: schedules.cosine_lr(np.array([0.5]), 0.1, 10), "t"),
    (lambda: schedules.one_cycle(np.arange(200), 0.1, 100), "t"),
    (lambda: schedules.one_cycle(np.arange(3), 0.1, 100, anneal_strategy="exp"), "anneal_strategy"),
    (lambda: schedules.one_cycle(np.arange(3), 0.1, 100, pct_start=0.001), "pct_start"),
    (lambda: schedules.warmup_cosine_lr(np.arange(3), 0.1, 10, 10), "total_steps"),
])
def test_bad_input_raises(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


def test_schedule_figure_extremes_draw_without_error():
    from dlbook import widgets
    fig = widgets.interactive(schedules.draw_schedules, clear=False,
                              schedule_name=widgets.Dropdown(list(schedules.SCHEDULES[1:])),
                              gamma=widgets.FloatSlider(0.05, 0.95, 0.1, static=2),
                              step_size=widgets.IntSlider(5, 50, 30, static=2),
                              warmup_pct=widgets.FloatSlider(0.05, 0.6, 0.3, static=2))
    for name in schedules.SCHEDULES[1:]:
        for gamma, step_size, warmup in ((0.05, 5, 0.05), (0.95, 50, 0.6)):
            png = fig.render(schedule_name=name, gamma=gamma, step_size=step_size, warmup_pct=warmup)
            assert png[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="schedule_name"):
        schedules.draw_schedules(fig.figure, "triangle")


def test_persistent_figure_matches_fresh_one(persistent_frames_match):
    """clear=False redraws (as in the chapter) look exactly like frames drawn from scratch."""
    from dlbook import widgets
    persistent_frames_match(lambda clear: widgets.interactive(
        schedules.draw_schedules, clear=clear,
        schedule_name=widgets.Dropdown(list(schedules.SCHEDULES[1:])),
        gamma=widgets.FloatSlider(0.05, 0.95, 0.1, static=2),
        step_size=widgets.IntSlider(5, 50, 30, static=2),
        warmup_pct=widgets.FloatSlider(0.05, 0.6, 0.3, static=2)))


# -- warm restarts, reduce-on-plateau --------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(T_0=st.integers(1, 30), T_mult=st.integers(1, 3), eta_min=st.floats(0.0, 0.5),
       n=st.integers(1, 300))
def test_cosine_restarts_lr(T_0, T_mult, eta_min, n):
    assert _close(_torch_lrs(lambda o: L.CosineAnnealingWarmRestarts(o, T_0, T_mult, eta_min), n)[0],
                  schedules.cosine_restarts_lr(np.arange(n), 0.7, T_0, T_mult, eta_min))


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 9999), factor=st.floats(0.05, 0.9), patience=st.integers(0, 5),
       threshold=st.floats(0.0, 0.1), mode=st.sampled_from(["rel", "abs"]),
       cooldown=st.integers(0, 3), min_lr=st.floats(0.0, 0.1))
def test_reduce_on_plateau_matches_torch(seed, factor, patience, threshold, mode, cooldown, min_lr):
    rng = np.random.default_rng(seed)
    metrics = np.cumsum(rng.standard_normal(120)) * 0.1 + np.linspace(3, 0, 120)   # noisy descent
    kwargs = dict(factor=factor, patience=patience, threshold=threshold, threshold_mode=mode,
                  cooldown=cooldown, min_lr=min_lr)
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=0.7)
    sched, ours = L.ReduceLROnPlateau(opt, **kwargs), schedules.ReduceLROnPlateau(0.7, **kwargs)
    for m in metrics:
        opt.step()
        sched.step(m)
        assert ours.step(m) == opt.param_groups[0]["lr"]


# -- many MLPs side by side ------------------------------------------------------------------
def _reference_runs(X, y, lrs, moms, seeds, sizes, optimizer, batch_size):
    """The same runs, one at a time, with an ordinary torch.optim loop."""
    from dlbook import train
    Xt, yt = torch.tensor(X), torch.tensor(y)
    out = []
    for lr_row, mom_row, seed in zip(lrs, moms, seeds):
        train.seed_everything(seed)
        net = train.mlp(list(sizes)).double()
        idx = torch.randint(0, len(Xt), (len(lr_row), batch_size), generator=torch.Generator().manual_seed(seed))
        opt = (torch.optim.SGD(net.parameters(), lr=1.0, momentum=0.5) if optimizer == "sgd"
               else torch.optim.Adam(net.parameters()))
        for t, (lr, mu) in enumerate(zip(lr_row, mom_row)):
            group = opt.param_groups[0]
            group["lr"] = float(lr)
            if optimizer == "sgd":
                group["momentum"] = float(mu)
            else:
                group["betas"] = (float(mu), 0.999)
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(Xt[idx[t]]), yt[idx[t]]).backward()
            opt.step()
        with torch.no_grad():
            out.append(torch.nn.functional.cross_entropy(net(Xt), yt).item())
    return np.array(out)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_train_mlp_runs_equals_separate_torch_loops(optimizer):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 6)), rng.integers(0, 3, 50)
    lrs, moms = rng.uniform(0.001, 0.1, (3, 25)), rng.uniform(0.5, 0.95, (3, 25))
    seeds, sizes = [4, 9, 4], (6, 7, 5, 3)
    out = schedules.train_mlp_runs(X, y, lrs, seeds, sizes, batch_size=8, optimizer=optimizer,
                                   momenta=moms, X_val=X[:20], y_val=y[:20])
    ref = _reference_runs(X, y, lrs, moms, seeds, sizes, optimizer, 8)
    assert np.allclose(out["train_loss"], ref, rtol=1e-10, atol=1e-12)
    assert out["val_loss"].shape == (3,) and np.all((out["val_accuracy"] >= 0) & (out["val_accuracy"] <= 1))


@pytest.mark.parametrize("call,arg", [
    (lambda: schedules.cosine_restarts_lr(np.arange(3), 0.1, 0), "T_0"),
    (lambda: schedules.cosine_restarts_lr(np.arange(3), 0.1, 5, T_mult=0), "T_mult"),
    (lambda: schedules.ReduceLROnPlateau(0.1, factor=1.0), "factor"),
    (lambda: schedules.ReduceLROnPlateau(0.1, threshold_mode="log"), "threshold_mode"),
    (lambda: schedules.ReduceLROnPlateau(0.1, patience=-1), "patience"),
    (lambda: schedules.train_mlp_runs(np.zeros((4, 2)), np.zeros(4, int), np.ones((2, 3)), [0], (2, 2)), "lrs"),
    (lambda: schedules.train_mlp_runs(np.zeros((4, 2)), np.zeros(4, int), np.ones((1, 3)), [0], (2, 2),
                                      optimizer="lion"), "optimizer"),
])
def test_new_schedules_bad_input_raises(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()
