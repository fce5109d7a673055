"""Learning-rate schedules as closed-form functions of the step t, equal to `torch.optim.lr_scheduler`.

Each function takes `t` (an int or an int array of scheduler steps, t = 0 before the first
`scheduler.step()`) and returns the learning rate the optimizer uses at that step, like
`scheduler.get_last_lr()[0]` after t calls to `scheduler.step()`.
"""

import numpy as np

from dlbook import plot
from dlbook.checks import check_int, check_real


def _steps(t):
    t = np.asarray(t)
    if not np.issubdtype(t.dtype, np.integer) or np.any(t < 0):
        raise ValueError(f"t must hold non-negative ints, got {t!r}")
    return t


def step_lr(t, lr, step_size, gamma=0.1):
    """StepLR: lr · γ^⌊t / step_size⌋ (multiply by γ every `step_size` steps)."""
    t = _steps(t)
    check_real("lr", lr, 0.0)
    step_size = check_int("step_size", step_size, 1)
    gamma = check_real("gamma", gamma, 0.0, lo_open=True)
    return lr * gamma ** (t // step_size)


def exponential_lr(t, lr, gamma):
    """ExponentialLR: lr · γᵗ, the same as the notes' lr₀ · e^(−kt) with γ = e^(−k)."""
    t = _steps(t)
    check_real("lr", lr, 0.0)
    gamma = check_real("gamma", gamma, 0.0, lo_open=True)
    return lr * gamma ** t


def cosine_lr(t, lr, T_max, eta_min=0.0):
    """CosineAnnealingLR: η_min + (lr − η_min)(1 + cos(π t / T_max)) / 2 (periodic beyond T_max)."""
    t = _steps(t)
    check_real("lr", lr, 0.0)
    T_max = check_int("T_max", T_max, 1)
    eta_min = check_real("eta_min", eta_min, 0.0)
    return eta_min + (lr - eta_min) * (1 + np.cos(np.pi * t / T_max)) / 2


def linear_lr(t, lr, start_factor=1 / 3, end_factor=1.0, total_iters=5):
    """LinearLR (linear warm-up when start_factor < end_factor): factor moves linearly, then stays."""
    t = _steps(t)
    check_real("lr", lr, 0.0)
    start_factor = check_real("start_factor", start_factor, 0.0, 1.0, lo_open=True)
    end_factor = check_real("end_factor", end_factor, 0.0, 1.0)
    total_iters = check_int("total_iters", total_iters, 1)
    return lr * (start_factor + (end_factor - start_factor) * np.minimum(t, total_iters) / total_iters)


def warmup_cosine_lr(t, lr, warmup_steps, total_steps, start_factor=1e-3, eta_min=0.0):
    """Linear warm-up from start_factor·lr to lr over `warmup_steps`, then cosine down to eta_min.

    Equal to SequentialLR([LinearLR(start_factor, 1, warmup_steps),
    CosineAnnealingLR(T_max = total_steps − warmup_steps, eta_min)], milestones=[warmup_steps]).
    """
    t = _steps(t)
    warmup_steps = check_int("warmup_steps", warmup_steps, 1)
    total_steps = check_int("total_steps", total_steps, warmup_steps + 1)
    warm = linear_lr(np.minimum(t, warmup_steps), lr, start_factor, 1.0, warmup_steps)
    cool = cosine_lr(np.maximum(t - warmup_steps, 0), lr, total_steps - warmup_steps, eta_min)
    return np.where(t < warmup_steps, warm, cool)


def _one_cycle_phases(total_steps, pct_start, three_phase):
    """(end_step, start, end) of each phase, with start/end naming 'initial', 'max' or 'min'."""
    if three_phase:
        return [(pct_start * total_steps - 1, "initial", "max"),
                (2 * pct_start * total_steps - 2, "max", "initial"),
                (total_steps - 1, "initial", "min")]
    return [(pct_start * total_steps - 1, "initial", "max"), (total_steps - 1, "max", "min")]


def one_cycle(t, max_lr, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0,
              final_div_factor=1e4, three_phase=False, base_momentum=0.85, max_momentum=0.95):
    """OneCycleLR: (lr, momentum) at step t. lr rises max_lr/div_factor → max_lr over pct_start of
    the run, then falls to max_lr/(div_factor·final_div_factor); momentum moves the opposite way."""
    t = _steps(t)
    max_lr = check_real("max_lr", max_lr, 0.0, lo_open=True)
    total_steps = check_int("total_steps", total_steps, 1)
    pct_start = check_real("pct_start", pct_start, 0.0, 1.0)
    div_factor = check_real("div_factor", div_factor, 0.0, lo_open=True)
    final_div_factor = check_real("final_div_factor", final_div_factor, 0.0, lo_open=True)
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
    if np.any(t > total_steps):
        raise ValueError(f"t must be <= total_steps = {total_steps}")
    phases = _one_cycle_phases(total_steps, pct_start, three_phase)
    if any(b[0] <= a[0] for a, b in zip([(0.0,)] + phases, phases)):
        raise ValueError(f"pct_start = {pct_start} leaves a phase with no steps for total_steps = "
                         f"{total_steps}")
    initial = max_lr / div_factor
    lrs = {"initial": initial, "max": max_lr, "min": initial / final_div_factor}
    moms = {"initial": max_momentum, "max": base_momentum, "min": max_momentum}

    def anneal(start, end, pct):
        if anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (np.cos(np.pi * pct) + 1)
        return (end - start) * pct + start

    lr, mom = np.zeros(t.shape), np.zeros(t.shape)
    done = np.zeros(t.shape, bool)
    start_step = 0.0
    for i, (end_step, a, b) in enumerate(phases):
        here = ~done & ((t <= end_step) | (i == len(phases) - 1))
        pct = (t - start_step) / (end_step - start_step)
        lr = np.where(here, anneal(lrs[a], lrs[b], pct), lr)
        mom = np.where(here, anneal(moms[a], moms[b], pct), mom)
        done |= here
        start_step = end_step
    return lr, mom


# -- the noisy quadratic model: a cheap, exact stand-in for SGD training ------------------------
def noisy_quadratic_loss(lrs, h=None, noise=0.05, x0=1.0):
    """Expected loss E[½ Σ hᵢ xᵢ²] of SGD run with learning rates `lrs` on a quadratic whose
    gradient has noise of variance noise·hᵢ: E[xᵢ²] ← (1 − lr hᵢ)² E[xᵢ²] + lr² noise hᵢ (exact)."""
    lrs = np.asarray(lrs, float)
    h = np.geomspace(1e-2, 1.0, 20) if h is None else np.asarray(h, float)
    s = np.full(h.shape, float(x0) ** 2)                       # E[x_i²], one per curvature
    out = [0.5 * (h * s).sum()]
    with np.errstate(over="ignore", invalid="ignore"):
        for lr in lrs:
            s = (1 - lr * h) ** 2 * s + lr ** 2 * noise * h
            out.append(0.5 * (h * s).sum())
    return np.array(out)


SCHEDULES = ("constant", "step", "exponential", "cosine", "warmup + cosine", "one-cycle")


def schedule(name, num_steps=100, lr=1.0, gamma=0.1, step_size=30, warmup_pct=0.1):
    """Learning rates at t = 0 … num_steps−1 of a named schedule with the figure's shared knobs.

    'exponential' uses γ^(1/step_size) per step: step decay with the staircase smoothed out.
    """
    t = np.arange(num_steps)
    warmup = max(1, int(round(warmup_pct * num_steps)))
    if name == "constant":
        return np.full(num_steps, float(lr))
    if name == "step":
        return step_lr(t, lr, step_size, gamma)
    if name == "exponential":
        return exponential_lr(t, lr, gamma ** (1.0 / step_size))
    if name == "cosine":
        return cosine_lr(t, lr, num_steps)
    if name == "warmup + cosine":
        return warmup_cosine_lr(t, lr, warmup, num_steps)
    if name == "one-cycle":
        return one_cycle(t, lr, num_steps, pct_start=float(warmup_pct))[0]
    raise ValueError(f"name must be one of {SCHEDULES}, got {name!r}")


def draw_schedules(fig, schedule_name="step", gamma=0.1, step_size=30, warmup_pct=0.3,
                   num_steps=100, lr=1.0):
    """Left: the chosen schedule (others faint); right: the loss it gives on the noisy quadratic.

    For `interactive(..., clear=False)`: the lines are built once, then only their data change.
    """
    if schedule_name not in SCHEDULES:
        raise ValueError(f"schedule_name must be one of {SCHEDULES}, got {schedule_name!r}")
    curves = {name: schedule(name, num_steps, lr, gamma, step_size, warmup_pct) for name in SCHEDULES}
    a = plot.artists(fig, "schedules")
    if a is None:
        fig.clear()
        ax, ax_loss = fig.subplots(1, 2)
        a = plot.keep_artists(fig, "schedules", **{
            name: ax.plot(np.arange(num_steps), curves[name], color="0.8", lw=1)[0]
            for name in SCHEDULES})
        a["chosen"] = ax.plot([], [], color=plot.COLORS[1], lw=2.4)[0]
        a["loss_const"] = ax_loss.plot([], [], color="0.5")[0]
        a["loss"] = ax_loss.plot([], [], color=plot.COLORS[1])[0]
        a["text"] = ax_loss.text(0.97, 0.97, "", transform=ax_loss.transAxes,
                                 ha="right", va="top")
        ax.set(xlabel="step t", ylabel="learning rate", ylim=(0, 1.05 * lr), xlim=(0, num_steps))
        ax_loss.set(xlabel="step t", ylabel="log₁₀ expected loss", xlim=(0, num_steps),
                    title="SGD on a noisy quadratic")
        ax_loss.text(0.03, 0.11, "constant lr", color="0.4", transform=ax_loss.transAxes, fontsize=8)
        ax_loss.text(0.03, 0.04, "schedule", color=plot.COLORS[1], transform=ax_loss.transAxes,
                     fontsize=8)                        # text, not a legend: cheaper to redraw
        for a_ in (ax, ax_loss):
            a_.locator_params(nbins=5)                  # fewer tick labels: text dominates redraws
    ax, ax_loss = a["axes"]
    for name in SCHEDULES:
        a[name].set_ydata(curves[name])
    a["chosen"].set_data(np.arange(num_steps), curves[schedule_name])
    const = np.log10(noisy_quadratic_loss(curves["constant"]))
    chosen = np.log10(noisy_quadratic_loss(curves[schedule_name]))
    a["loss_const"].set_data(np.arange(num_steps + 1), const)
    a["loss"].set_data(np.arange(num_steps + 1), chosen)
    lo, hi = min(const.min(), chosen.min()), max(const.max(), chosen.max())
    ax_loss.set_ylim(lo - 0.2, hi + 0.2)
    a["text"].set_text(f"final loss: {schedule_name} {10 ** chosen[-1]:.2e}\n"
                       f"constant {10 ** const[-1]:.2e}")
    ax.set_title(f"{schedule_name}: γ = {gamma:.2g}, step_size = {step_size}, "
                 f"warm-up = {warmup_pct:.0%}", fontsize=10)
