"""Optimizers on 2-D loss surfaces: an ill-conditioned quadratic and Rosenbrock's valley, the
path each `dlbook.optim` optimizer takes on them (divergence detected, never a crash), the
chapter's trajectory figure, and the heavy-ball theory of the best rates on a quadratic.
"""
import math
from functools import lru_cache

import numpy as np

from dlbook import plot
from dlbook.checks import check_int, check_real
from dlbook.optim import make
from dlbook.schedules import cosine_lr


# -- 2-D loss surfaces ---------------------------------------------------------------------------
class Surface:
    """A 2-D loss f(x, y) with its gradient (and Hessian), a start point, a minimum and a window."""

    def __init__(self, name, f, grad, start, minimum, xlim, ylim, hessian=None):
        self.name, self.f, self.grad, self.hessian = name, f, grad, hessian
        self.start, self.minimum = np.array(start, float), np.array(minimum, float)
        self.xlim, self.ylim = xlim, ylim


def quadratic(lam1=1.0, lam2=20.0):
    """f = ½(λ₁x² + λ₂y²): condition number κ = λ₂/λ₁ makes a long, narrow valley."""
    check_real("lam1", lam1, 0.0, lo_open=True)
    check_real("lam2", lam2, 0.0, lo_open=True)
    return Surface(f"quadratic (κ = {lam2 / lam1:g})",
                   lambda x, y: 0.5 * (lam1 * x ** 2 + lam2 * y ** 2),
                   lambda x, y: np.array([lam1 * x, lam2 * y]),
                   start=(-2.0, 0.7), minimum=(0.0, 0.0), xlim=(-2.5, 2.5), ylim=(-1.2, 1.2),
                   hessian=lambda x, y: np.array([[lam1, 0.0], [0.0, lam2]]))


def rosenbrock(a=1.0, b=100.0):
    """f = (a − x)² + b(y − x²)²: a curved banana valley, minimum 0 at (a, a²)."""
    return Surface("Rosenbrock",
                   lambda x, y: (a - x) ** 2 + b * (y - x ** 2) ** 2,
                   lambda x, y: np.array([-2 * (a - x) - 4 * b * x * (y - x ** 2),
                                          2 * b * (y - x ** 2)]),
                   start=(-1.5, 2.0), minimum=(a, a * a), xlim=(-2.0, 2.0), ylim=(-1.0, 3.0),
                   hessian=lambda x, y: np.array([[2 - 4 * b * (y - 3 * x ** 2), -4 * b * x],
                                                  [-4 * b * x, 2 * b]]))


def saddle():
    """f = ½x² − ½y² + ¼y⁴: a saddle at the origin (f = 0) between two minima (0, ±1) (f = −¼)."""
    return Surface("saddle",
                   lambda x, y: 0.5 * x ** 2 - 0.5 * y ** 2 + 0.25 * y ** 4,
                   lambda x, y: np.array([x, y ** 3 - y]),
                   start=(1.5, 0.0), minimum=(0.0, 1.0), xlim=(-2.0, 2.0), ylim=(-1.5, 1.5),
                   hessian=lambda x, y: np.array([[1.0, 0.0], [0.0, 3 * y ** 2 - 1]]))


SURFACES = {"quadratic": quadratic, "rosenbrock": rosenbrock}


def trajectory(surface, name, lr, momentum=0.0, num_steps=100, start=None, blowup=1e6,
               lr_schedule=None):
    """Run optimizer `name` on `surface` from its start: (path (n+1, 2), losses (n+1,), diverged_at).

    Stops at the first step whose loss is non-finite or exceeds `blowup` × the starting loss;
    `diverged_at` is that step number (None if the run stayed finite). `lr_schedule` (num_steps,)
    optionally gives the learning rate of each step (e.g. `schedules.cosine_lr`), replacing `lr`.
    """
    if isinstance(surface, str):
        if surface not in SURFACES:
            raise ValueError(f"surface must be one of {sorted(SURFACES)}, got {surface!r}")
        surface = SURFACES[surface]()
    num_steps = check_int("num_steps", num_steps, 1)
    if lr_schedule is not None:
        lr_schedule = np.asarray(lr_schedule, float)
        if lr_schedule.shape != (num_steps,) or np.any(lr_schedule < 0):
            raise ValueError(f"lr_schedule must hold num_steps = {num_steps} non-negative values")
    p = np.array(surface.start if start is None else start, dtype=float)
    opt = make(name, [p], lr, momentum)
    path, losses = [p.copy()], [surface.f(*p)]
    limit = blowup * max(losses[0], 1e-12)
    with np.errstate(all="ignore"):
        for t in range(1, num_steps + 1):
            if lr_schedule is not None:
                opt.lr = lr_schedule[t - 1]
            opt.step([surface.grad(*p)])
            loss = surface.f(*p)
            path.append(p.copy())
            losses.append(loss)
            if not np.isfinite(loss) or loss > limit:
                return np.array(path), np.array(losses), t
    return np.array(path), np.array(losses), None


def tune_and_run(surface, name, momentum, lr_grid, tune_steps=200, long_steps=2000, nudge=1e-10):
    """Tune `name` on `surface` (lowest loss after `tune_steps` over `lr_grid`), then run it for
    `long_steps` at that constant lr and with the lr cosine-decayed to 0.

    Returns dict(lr, tuned, constant, cosine) of losses; `constant` is None when the constant-lr
    run is chaotic: a second run from a start `nudge` away ends more than 1 % apart.
    """
    runs = [trajectory(surface, name, lr, momentum, tune_steps) for lr in lr_grid]
    finals = [losses[-1] if d is None else np.inf for _, losses, d in runs]
    best = int(np.argmin(finals))
    lr = float(lr_grid[best])
    _, const, _ = trajectory(surface, name, lr, momentum, long_steps)
    _, const2, _ = trajectory(surface, name, lr, momentum, long_steps, start=surface.start + nudge)
    chaotic = abs(const[-1] - const2[-1]) > 0.01 * max(const[-1], const2[-1])
    _, cos, _ = trajectory(surface, name, lr, momentum, long_steps,
                           lr_schedule=cosine_lr(np.arange(long_steps), lr, long_steps))
    return {"lr": lr, "tuned": finals[best], "constant": None if chaotic else const[-1],
            "cosine": cos[-1]}


@lru_cache(maxsize=4)
def _surface_image(name, n=120):
    s = SURFACES[name]()
    x = np.linspace(*s.xlim, n)
    y = np.linspace(*s.ylim, n)
    X, Y = np.meshgrid(x, y)
    return s, np.log10(s.f(X, Y) + 0.1)  # log scale shows both the valley floor and the walls


def _in_window(path, s):
    return np.all((path[:, 0] >= s.xlim[0]) & (path[:, 0] <= s.xlim[1])
                  & (path[:, 1] >= s.ylim[0]) & (path[:, 1] <= s.ylim[1]))


def draw_trajectory(fig, lr=0.05, momentum=0.0, optimizer="sgd", surface="quadratic",
                    num_steps=200):
    """Left: the path of `optimizer` on `surface`; right: log10 loss per step; divergence written.

    For `interactive(..., clear=False)`: axes are built on the first call, later calls only
    update the artists' data (a redraw then costs a few milliseconds plus rendering).
    """
    s, img = _surface_image(surface)
    path, losses, diverged_at = trajectory(surface, optimizer, lr, momentum, num_steps)
    a = plot.artists(fig, "trajectory")
    if a is None:
        fig.clear()
        ax, ax_loss = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.5, 1]})
        a = plot.keep_artists(fig, "trajectory", **{
            "image": ax.imshow(img, extent=(*s.xlim, *s.ylim), origin="lower", cmap="cividis",
                               aspect="auto", interpolation="bilinear"),
            "minimum": ax.plot(*s.minimum, "*", color="white", ms=13, mec="black")[0],
            "path": ax.plot([], [], ".-", color=plot.COLORS[1], ms=3, lw=1.2)[0],
            "start": ax.plot([], [], "o", color=plot.COLORS[1], mec="black")[0],
            "loss": ax_loss.plot([], [], color=plot.COLORS[1])[0],
            "note": plot.message(ax, ""),
            "final": ax_loss.text(0.95, 0.95, "", transform=ax_loss.transAxes, ha="right",
                                  va="top"),
        })
        ax.grid(False)
        ax.set(xlabel="x", ylabel="y")
        ax_loss.set(xlim=(0, num_steps), xlabel="step", ylabel="log₁₀ loss")
        for a_ in (ax, ax_loss):
            a_.locator_params(nbins=5)                  # fewer tick labels: text dominates redraws
    ax, ax_loss = a["axes"]
    a["image"].set_data(img)
    a["image"].set_clim(img.min(), img.max())          # each surface gets its own colour range
    a["image"].set_extent((*s.xlim, *s.ylim))
    a["minimum"].set_data([s.minimum[0]], [s.minimum[1]])
    a["path"].set_data(path[:, 0], path[:, 1])
    a["start"].set_data([path[0, 0]], [path[0, 1]])
    ax.set(xlim=s.xlim, ylim=s.ylim, title=f"{optimizer} on {s.name}")
    with np.errstate(all="ignore"):
        log_loss = np.log10(np.clip(losses, 1e-12, 1e12))
    a["loss"].set_data(np.arange(len(log_loss)), log_loss)
    ax_loss.set(ylim=(min(-1.0, log_loss.min()) - 0.5, max(log_loss.max(), log_loss[0] + 1) + 0.5),
                title=f"lr = {lr:.3g}, momentum = {momentum:.2f}")
    note, final = "", f"final loss {losses[-1]:.2e}"
    if diverged_at is not None:
        note, final = f"diverged at step {diverged_at}", ""
    elif not _in_window(path, s):
        note = "path leaves the window"
    plot.set_message(a["note"], note)
    a["final"].set_text(final)


# -- momentum on a quadratic: the theory (Polyak's heavy ball) ----------------------------------
def quadratic_rates(lam_min, lam_max):
    """Optimal (lr, rate) of GD and of heavy-ball momentum (lr, β, rate) on a quadratic."""
    check_real("lam_min", lam_min, 0.0, lo_open=True)
    check_real("lam_max", lam_max, 0.0, lo_open=True)
    kappa = lam_max / lam_min
    gd_lr, gd_rate = 2 / (lam_min + lam_max), (kappa - 1) / (kappa + 1)
    sk = math.sqrt(kappa)
    hb_lr = (2 / (math.sqrt(lam_max) + math.sqrt(lam_min))) ** 2
    hb_beta = ((sk - 1) / (sk + 1)) ** 2
    return {"gd_lr": gd_lr, "gd_rate": gd_rate, "hb_lr": hb_lr, "hb_beta": hb_beta,
            "hb_rate": (sk - 1) / (sk + 1)}


def measured_rate(losses, skip=10):
    """Per-step contraction of the distance to the minimum: (loss_n / loss_skip)^(1 / (2(n − skip)))."""
    losses = np.asarray(losses, float)
    n = len(losses) - 1
    if n <= skip:
        raise ValueError(f"losses must be longer than skip + 1 = {skip + 1}")
    return float((losses[-1] / losses[skip]) ** (1 / (2 * (n - skip))))
