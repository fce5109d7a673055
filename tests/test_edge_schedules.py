"""Edge cases of dlbook.schedules against torch.optim.lr_scheduler (issue 8): the step t =
total_steps (after the last scheduler.step()), eta_min >= lr, and one_cycle's pct_start = 0."""
import numpy as np
import pytest
import torch

from dlbook import schedules

L = torch.optim.lr_scheduler
LR = 0.7


def _torch_lrs(make, num_steps):
    """lr (and momentum) after 0, 1, ..., num_steps calls of scheduler.step(): num_steps + 1 values."""
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=LR, momentum=0.9)
    sched = make(opt)
    lrs, moms = [opt.param_groups[0]["lr"]], [opt.param_groups[0]["momentum"]]
    for _ in range(num_steps):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        moms.append(opt.param_groups[0]["momentum"])
    return np.array(lrs), np.array(moms)


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("total", [7, 20, 101])
@pytest.mark.parametrize("pct", [0.25, 0.5, 0.9])
@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("three", [False, True])
def test_one_cycle_up_to_t_equal_total_steps(total, pct, strategy, three):
    if (pct * total - 1 <= 0) or (three and 2 * pct * total - 2 >= total - 1):
        pytest.skip("a phase with no steps (rejected, see the pct_start test)")
    make = lambda o: L.OneCycleLR(o, LR, total_steps=total, pct_start=pct, anneal_strategy=strategy,
                                  three_phase=three)
    lr_t, mom_t = _torch_lrs(make, total)
    lr, mom = schedules.one_cycle(np.arange(total + 1), LR, total, pct, strategy, three_phase=three)
    _close(lr, lr_t)
    _close(mom, mom_t)
    with pytest.raises(ValueError, match="t"):          # torch raises one step later too
        schedules.one_cycle(total + 1, LR, total, pct, strategy, three_phase=three)


def test_one_cycle_pct_start_zero_is_rejected():
    # Deliberate difference (docstring): torch accepts pct_start = 0 and starts part-way down the
    # annealing curve (no warm-up, lr(0) < max_lr); we raise.
    lr_t, _ = _torch_lrs(lambda o: L.OneCycleLR(o, LR, total_steps=10, pct_start=0.0), 3)
    assert lr_t[0] < LR
    with pytest.raises(ValueError, match="pct_start"):
        schedules.one_cycle(np.arange(10), LR, 10, pct_start=0.0)


@pytest.mark.parametrize("T_max", [1, 2, 5, 30])
@pytest.mark.parametrize("eta_min", [0.0, 0.3, LR, 1.0, 2.5])       # eta_min >= lr included
def test_cosine_at_and_beyond_T_max_and_with_eta_min_above_lr(T_max, eta_min):
    n = 3 * T_max + 1                                  # t = T_max, 2·T_max (restart), 3·T_max
    lr_t, _ = _torch_lrs(lambda o: L.CosineAnnealingLR(o, T_max, eta_min), n)
    _close(schedules.cosine_lr(np.arange(n + 1), LR, T_max, eta_min), lr_t)
    assert schedules.cosine_lr(T_max, LR, T_max, eta_min) == pytest.approx(eta_min, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("warmup, total", [(1, 2), (3, 10), (10, 11)])
@pytest.mark.parametrize("eta_min", [0.0, 0.5, LR, 1.2])
def test_warmup_cosine_at_total_steps_and_eta_min_above_lr(warmup, total, eta_min):
    make = lambda o: L.SequentialLR(o, [L.LinearLR(o, 1e-3, 1.0, warmup),
                                        L.CosineAnnealingLR(o, total - warmup, eta_min)], [warmup])
    lr_t, _ = _torch_lrs(make, total)
    _close(schedules.warmup_cosine_lr(np.arange(total + 1), LR, warmup, total, 1e-3, eta_min), lr_t)


@pytest.mark.parametrize("total_iters", [1, 4])
@pytest.mark.parametrize("start, end", [(0.1, 1.0), (1.0, 0.2), (0.5, 0.5)])
def test_linear_step_exponential_at_the_boundary(total_iters, start, end):
    n = 2 * total_iters + 1
    lr_t, _ = _torch_lrs(lambda o: L.LinearLR(o, start, end, total_iters), n)
    _close(schedules.linear_lr(np.arange(n + 1), LR, start, end, total_iters), lr_t)
    lr_t, _ = _torch_lrs(lambda o: L.StepLR(o, total_iters, 0.5), n)
    _close(schedules.step_lr(np.arange(n + 1), LR, total_iters, 0.5), lr_t)
    lr_t, _ = _torch_lrs(lambda o: L.ExponentialLR(o, 0.9), n)
    _close(schedules.exponential_lr(np.arange(n + 1), LR, 0.9), lr_t)
