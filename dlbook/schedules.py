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


def cosine_restarts_lr(t, lr, T_0, T_mult=1, eta_min=0.0):
    """CosineAnnealingWarmRestarts: cosine from lr to eta_min over T_i steps, then jump back to lr;
    the cycles last T_0, T_0·T_mult, T_0·T_mult², … steps (SGDR, Loshchilov & Hutter 2017)."""
    t = _steps(t)
    check_real("lr", lr, 0.0)
    T_0 = check_int("T_0", T_0, 1)
    T_mult = check_int("T_mult", T_mult, 1)
    eta_min = check_real("eta_min", eta_min, 0.0)
    if T_mult == 1:
        n = t // T_0                                           # index of the current cycle
    else:                                                      # cycle n starts at T_0(T_multⁿ − 1)/(T_mult − 1)
        n = np.floor(np.log(t / T_0 * (T_mult - 1) + 1) / np.log(T_mult)).astype(np.int64)
        start = lambda k: T_0 * (T_mult ** k - 1) // (T_mult - 1)
        n = n - (start(n) > t) + (start(n + 1) <= t)           # repair floating-point rounding
    start = n * T_0 if T_mult == 1 else T_0 * (T_mult ** n - 1) // (T_mult - 1)
    T_i = T_0 * T_mult ** n
    return eta_min + (lr - eta_min) * (1 + np.cos(np.pi * (t - start) / T_i)) / 2


class ReduceLROnPlateau:
    """torch.optim.lr_scheduler.ReduceLROnPlateau (mode 'min'): multiply lr by `factor` once the
    metric has not improved (by more than `threshold`, relative or absolute) for `patience` calls."""

    def __init__(self, lr, factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        self.lr = check_real("lr", lr, 0.0)
        self.factor = check_real("factor", factor, 0.0, 1.0, hi_open=True)
        self.patience = check_int("patience", patience, 0)
        self.threshold = check_real("threshold", threshold, 0.0)
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.threshold_mode = threshold_mode
        self.cooldown = check_int("cooldown", cooldown, 0)
        self.min_lr = check_real("min_lr", min_lr, 0.0)
        self.eps = check_real("eps", eps, 0.0)
        self.best, self.num_bad, self.cooldown_counter = np.inf, 0, 0

    def _better(self, metric):
        if self.threshold_mode == "rel":
            return metric < self.best * (1 - self.threshold)
        return metric < self.best - self.threshold

    def step(self, metric):
        """Record one metric value (e.g. a validation loss per epoch); return the lr to use next."""
        metric = float(metric)
        if self._better(metric):
            self.best, self.num_bad = metric, 0
        else:
            self.num_bad += 1
        if self.cooldown_counter > 0:                          # just reduced: ignore bad epochs
            self.cooldown_counter -= 1
            self.num_bad = 0
        if self.num_bad > self.patience:
            new_lr = max(self.lr * self.factor, self.min_lr)
            if self.lr - new_lr > self.eps:
                self.lr = new_lr
            self.cooldown_counter, self.num_bad = self.cooldown, 0
        return self.lr


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
    the run, then falls to max_lr/(div_factor·final_div_factor); momentum moves the opposite way.

    Unlike torch, a pct_start that leaves a phase with no steps (pct_start = 0 included) raises:
    torch then divides by zero or, at pct_start = 0, silently skips the warm-up and starts part-way
    down the annealing curve (lr(0) ≈ 0.98·max_lr for 10 steps), which is not a one-cycle schedule.
    """
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


# -- schedules on a real network: many small MLPs trained side by side ---------------------------
def train_mlp_runs(X, y, lrs, seeds, sizes=(64, 64, 10), batch_size=64, optimizer="adam",
                   momenta=None, X_val=None, y_val=None, progress=False, desc="runs"):
    """Train R independent ReLU MLPs side by side in float64, as one batched network.

    Run r starts from `train.mlp(sizes)` seeded with seeds[r], draws its batches (with
    replacement) from torch.Generator(seeds[r]) and uses learning rate lrs[r, t] at step t.
    optimizer 'sgd' (torch's heavy ball, momentum momenta[r, t], default 0) or 'adam' (β₁ =
    momenta[r, t], default 0.9; β₂ = 0.999). Returns a dict of (R,) arrays: the final training
    loss, and the validation loss and accuracy when X_val, y_val are given.
    """
    import torch
    from tqdm.auto import tqdm

    from dlbook import train
    if optimizer not in ("sgd", "adam"):
        raise ValueError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    lrs = np.atleast_2d(np.asarray(lrs, float))
    seeds = [check_int("seeds", s, 0) for s in seeds]
    R, T = lrs.shape
    if len(seeds) != R or np.any(~np.isfinite(lrs)) or np.any(lrs < 0):
        raise ValueError("lrs must be (len(seeds), num_steps) finite non-negative learning rates")
    default = 0.9 if optimizer == "adam" else 0.0
    momenta = np.full((R, T), default) if momenta is None else np.broadcast_to(momenta, (R, T))
    X, y = torch.as_tensor(np.asarray(X, float)), torch.as_tensor(np.asarray(y))
    batch_size = check_int("batch_size", batch_size, 1)
    nets = []
    for s in seeds:
        train.seed_everything(s)
        nets.append(train.mlp(list(sizes)).double())
    linears = [[m for m in net if isinstance(m, torch.nn.Linear)] for net in nets]
    params = []                                                    # per layer: W (R, d_in, d_out), b (R, 1, d_out)
    for k in range(len(linears[0])):
        params.append(torch.stack([ls[k].weight.detach().T for ls in linears]).requires_grad_())
        params.append(torch.stack([ls[k].bias.detach()[None] for ls in linears]).requires_grad_())
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    idx = torch.stack([torch.randint(0, len(X), (T, batch_size), generator=g) for g in gens])

    def logits(H):                                                 # H (R, n, d_in) -> (R, n, C)
        for k in range(0, len(params), 2):
            H = torch.baddbmm(params[k + 1], H, params[k])
            if k + 2 < len(params):
                H = torch.relu(H)
        return H

    def loss_per_run(Z, target):                                   # mean cross-entropy per run (R,)
        ce = torch.nn.functional.cross_entropy(Z.reshape(-1, Z.shape[-1]), target.reshape(-1),
                                               reduction="none")
        return ce.reshape(Z.shape[:2]).mean(dim=1)

    state = [dict(m=torch.zeros_like(p), v=torch.zeros_like(p)) for p in params]
    lr_t, mom_t = torch.as_tensor(lrs), torch.as_tensor(np.array(momenta, float))
    shape = lambda a, p: a.reshape(-1, *[1] * (p.dim() - 1))       # (R,) -> broadcast over p
    with np.errstate(all="ignore"):
        for t in tqdm(range(T), desc=desc, disable=not progress):
            i = idx[:, t]                                          # (R, B)
            loss = loss_per_run(logits(X[i]), y[i]).sum()          # runs are independent: sum
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g, st in zip(params, grads, state):
                    lr, mu = shape(lr_t[:, t], p), shape(mom_t[:, t], p)
                    if optimizer == "sgd":                         # b₁ = g, then b = μ b + g
                        st["m"] = g.clone() if t == 0 else mu * st["m"] + g
                        p -= lr * st["m"]
                    else:                                          # torch.optim.Adam, β₁ may vary
                        st["m"] = mu * st["m"] + (1 - mu) * g
                        st["v"] = 0.999 * st["v"] + 0.001 * g * g
                        denom = (st["v"] / (1 - 0.999 ** (t + 1))).sqrt() + 1e-8
                        p -= lr / (1 - mu ** (t + 1)) * st["m"] / denom
    out = {}
    with torch.no_grad():
        out["train_loss"] = loss_per_run(logits(X.expand(R, *X.shape)), y.expand(R, len(y))).numpy()
        if X_val is not None:
            Xv = torch.as_tensor(np.asarray(X_val, float))
            yv = torch.as_tensor(np.asarray(y_val))
            Z = logits(Xv.expand(R, *Xv.shape))
            out["val_loss"] = loss_per_run(Z, yv.expand(R, len(yv))).numpy()
            out["val_accuracy"] = (Z.argmax(-1) == yv).double().mean(dim=1).numpy()
    return out
