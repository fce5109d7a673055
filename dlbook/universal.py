"""Universal approximation, measured: one hidden layer with N units fitted to a 1-D target
(the hidden units placed by hand, the output weights by least squares), its error as N grows,
the chapter's figure, and a net whose every weight is trained (L-BFGS) for comparison.
"""
from functools import lru_cache

import numpy as np

from dlbook import plot
from dlbook.checks import check_int, check_positive, finite_array
from dlbook.nn import MLP


# -- universal approximation -------------------------------------------------------------------
TARGETS = {
    "sine": lambda x: np.sin(2 * np.pi * x),
    "|x|": np.abs,
    "bump": lambda x: np.exp(-(x / 0.2) ** 2),
    "step": lambda x: (x > 0.1).astype(np.float64),
}


def hidden_layer(n_hidden, activation="relu"):
    """Fixed first layer (W_1 (n, 1), b_1 (n,)) whose units switch on at points spread over [−1, 1].

    relu: unit i is relu(x − t_i), t_i = −1 + 2i/n (unit 0 is linear on the interval);
    sigmoid: unit i is σ((x − c_i)/w), centres c_i evenly spaced, width w = half a spacing.
    """
    n_hidden = check_int("n_hidden", n_hidden, 1)
    if activation == "relu":
        W1, b1 = np.ones((n_hidden, 1)), -(-1 + 2 * np.arange(n_hidden) / n_hidden)
    elif activation == "sigmoid":
        c = np.linspace(-1, 1, n_hidden) if n_hidden > 1 else np.zeros(1)
        w = (1.0 / (n_hidden - 1)) if n_hidden > 1 else 0.5
        W1, b1 = np.full((n_hidden, 1), 1 / w), -c / w
    else:
        raise ValueError(f"activation must be 'relu' or 'sigmoid', got {activation!r}")
    return W1, b1


def fit_one_hidden_layer(x, y, n_hidden, activation="relu"):
    """An MLP [1, n_hidden, 1] with hidden_layer(...) and output weights by least squares."""
    x, y = finite_array("x", x).reshape(-1, 1), finite_array("y", y).reshape(-1)
    net = MLP([1, n_hidden, 1], activation)
    net.params[0], net.params[1] = hidden_layer(n_hidden, activation)
    H = net.f(x @ net.params[0].T + net.params[1])              # (N, n): hidden activations
    A = np.hstack([H, np.ones((len(x), 1))])                    # plus a column for b_2
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    net.params[2], net.params[3] = coef[:-1][None, :], coef[-1:]
    return net


@lru_cache(maxsize=1024)
def _universal_fit(n_hidden, target, activation, n_points=400):
    x = np.linspace(-1, 1, n_points)
    y = TARGETS[target](x)
    net = fit_one_hidden_layer(x, y, n_hidden, activation)
    y_hat = net.forward(x[:, None])[:, 0]
    return x, y, y_hat, net.f(x[:, None] @ net.params[0].T + net.params[1]) * net.params[2]


def universal_errors(target, activation, ns):
    """RMS error of the least-squares fit for each number of hidden units in `ns`."""
    if target not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}, got {target!r}")
    return np.array([np.sqrt(np.mean((lambda r: (r[2] - r[1]) ** 2)(_universal_fit(int(n), target, activation))))
                     for n in ns])


UNIVERSAL_NS = np.array([1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64])
_MAX_UNITS_SHOWN = 12


def draw_universal(fig, n_hidden=8, target="sine", activation="relu"):
    """Left: target, N-unit fit and some scaled units a_i·f(w_i x + b_i); right: error vs N.

    For `interactive(..., clear=False)`: axes and artists are built once, then only updated.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}, got {target!r}")
    n_hidden = int(n_hidden)
    x, y, y_hat, units = _universal_fit(n_hidden, target, activation)
    if plot.artists(fig, "universal") is None:
        fig.clear()
        ax, ax_err = fig.subplots(1, 2, width_ratios=[1.6, 1])
        for _ in range(_MAX_UNITS_SHOWN):
            ax.plot([], [], color="grey", lw=0.7, alpha=0.5)
        ax.plot([], [], color="black", lw=2.5, label="target")
        ax.plot([], [], color=plot.COLORS[1], lw=1.8, label="network")
        ax.set_xlim(-1, 1)
        ax.set_xlabel("x")
        ax.legend(loc="upper left", fontsize=8)
        for act, color in (("relu", plot.COLORS[0]), ("sigmoid", plot.COLORS[2])):
            ax_err.plot([], [], "o-", ms=3, color=color, label=f"{act} units")
        ax_err.plot([], [], "o", ms=10, mfc="none", mew=2, color=plot.COLORS[1])
        ax_err.set_xscale("log")
        ax_err.set_xlim(0.8, 80)
        plot.log_yaxis(ax_err, 1e-4, 1, every=1)
        ax_err.set_xlabel("hidden units N")
        ax_err.set_ylabel("RMS error")
        ax_err.legend(fontsize=8, loc="lower left")
        ax_err.set_title("error vs width", fontsize=10)
        plot.keep_artists(fig, "universal")
    ax, ax_err = fig.axes
    shown = units[:, ::max(1, -(-n_hidden // _MAX_UNITS_SHOWN))]
    for i, line in enumerate(ax.lines[:_MAX_UNITS_SHOWN]):
        line.set_data(x, shown[:, i]) if i < shown.shape[1] else line.set_data([], [])
    ax.lines[_MAX_UNITS_SHOWN].set_data(x, y)
    ax.lines[_MAX_UNITS_SHOWN + 1].set_data(x, y_hat)
    ax.set_ylim(y.min() - 0.6, y.max() + 0.6)
    rms = float(np.sqrt(np.mean((y_hat - y) ** 2)))
    ax.set_title(f"{target} with {n_hidden} {activation} unit{'s' * (n_hidden > 1)}: "
                 f"RMS error {rms:.3g}", fontsize=10)
    for line, act in zip(ax_err.lines, ("relu", "sigmoid")):
        line.set_data(UNIVERSAL_NS, universal_errors(target, act, UNIVERSAL_NS))
    ax_err.lines[2].set_data([n_hidden], [max(rms, 1e-4)])


def fit_1d_lbfgs(n_hidden, target="sine", activation="tanh", max_iter=150, n_points=200, seed=0,
                 init="torch"):
    """Train every weight of a torch [1, n_hidden, 1] net on a 1-D target with full-batch L-BFGS.

    init "torch": PyTorch's default initialisation after torch.manual_seed(seed);
    init "construction": start from fit_one_hidden_layer (relu or sigmoid units placed evenly,
    output by least squares), so training is the only difference from the fixed construction.
    Returns (net, x, y) with x, y NumPy arrays of the training grid; float64 throughout.
    """
    import torch
    from dlbook import train as _train
    if target not in TARGETS:
        raise ValueError(f"target must be one of {sorted(TARGETS)}, got {target!r}")
    if init not in ("torch", "construction"):
        raise ValueError(f"init must be 'torch' or 'construction', got {init!r}")
    max_iter = check_int("max_iter", max_iter, 1)
    x = np.linspace(-1, 1, n_points)
    y = TARGETS[target](x)
    if init == "construction":
        net = fit_one_hidden_layer(x, y, n_hidden, activation).to_torch()
    else:
        torch.manual_seed(seed)
        net = _train.mlp([1, n_hidden, 1], activation).double()
    xt, yt = torch.from_numpy(x[:, None]), torch.from_numpy(y[:, None])
    opt = torch.optim.LBFGS(net.parameters(), lr=1, max_iter=max_iter, history_size=50,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-12, tolerance_change=1e-15)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(xt), yt)
        loss.backward()
        return loss
    opt.step(closure)
    return net, x, y


def trained_rms(n_hidden, target="sine", activation="tanh", seeds=(0,), init="torch", max_iter=150,
                return_nets=False):
    """RMS error on the training grid of fit_1d_lbfgs(...) for each seed (one value per seed).

    With return_nets=True, returns (errors, nets), the trained torch nets in the order of `seeds`.
    """
    import torch
    errors, nets = [], []
    for seed in seeds:
        net, x, y = fit_1d_lbfgs(n_hidden, target, activation, max_iter=max_iter, seed=int(seed), init=init)
        with torch.no_grad():
            y_hat = net(torch.from_numpy(x[:, None])).numpy()[:, 0]
        errors.append(float(np.sqrt(np.mean((y_hat - y) ** 2))))
        nets.append(net)
    return (np.array(errors), nets) if return_nets else np.array(errors)


def relu_unit_states(net, x, tol=1e-6):
    """Count the hidden units of a torch [1, n, 1] ReLU net that are dead (w x + b ≤ 0 at every
    point of x: output 0, gradient 0) or always on (≥ 0 everywhere: linear on x); returns
    (n_dead, n_always_on). The others bend the fit inside x. A kink within `tol` of an end of x
    counts as outside, so that rounding cannot flip a unit whose kink training left at the edge."""
    x = finite_array("x", x).reshape(-1)
    tol = check_positive("tol", tol)
    w = np.asarray(net[0].weight.detach().numpy()[:, 0], dtype=np.float64)
    b = np.asarray(net[0].bias.detach().numpy(), dtype=np.float64)
    z = np.outer(x, w) + b                                    # (len(x), n): pre-activations
    dead = (z <= tol * np.abs(w)).all(axis=0)
    on = ~dead & (z >= -tol * np.abs(w)).all(axis=0)
    return int(dead.sum()), int(on.sum())


def relu_kinks(net):
    """Sorted kink positions −b_i/w_i of a torch [1, n, 1] ReLU net's hidden units (±inf if w_i = 0)."""
    w = net[0].weight.detach().numpy()[:, 0]
    b = net[0].bias.detach().numpy()
    with np.errstate(divide="ignore"):
        return np.sort(-b / w)
