"""Neural-network basics in NumPy: a from-scratch MLP with its own backward pass, gradient
checks, why non-linearity matters, and the figures of chapter 2 (universal approximation:
`dlbook.universal`).

Conventions follow PyTorch: a Linear weight is (d_out, d_in) and a layer computes
z = h Wᵀ + b on a batch h of shape (N, d_in). Losses live in `dlbook.losses`.
"""
import math

import numpy as np

from dlbook import activations, init, losses, plot
from dlbook.checks import check_int, check_sizes, check_Xy, finite_array, check_positive as _check_positive


# -- the from-scratch multilayer perceptron ----------------------------------------------------
LOSSES = {  # name -> (cost, ∂cost/∂output)
    "cross_entropy": (losses.cross_entropy, losses.cross_entropy_grad),
    "bce_with_logits": (losses.binary_cross_entropy_with_logits, losses.binary_cross_entropy_with_logits_grad),
    "mse": (losses.mse, losses.mse_grad),
}


def _loss(name):
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {sorted(LOSSES)}, got {name!r}")
    return LOSSES[name]


class MLP:
    """h_0 = X, z_l = h_{l−1} W_lᵀ + b_l, h_l = f(z_l); the last layer is linear (logits).

    `params` = [W_1, b_1, W_2, b_2, ...]; `backward` fills `grads` in the same order.
    Initialised like torch.nn.Linear: W and b ~ U(±1/√fan_in).
    """

    def __init__(self, sizes, activation="relu", seed=0):
        sizes = check_sizes("sizes", sizes)
        self.f, self.df = activations.get(activation)
        self.sizes, self.activation = [int(s) for s in sizes], activation
        rng = np.random.default_rng(seed)
        self.params = []
        for d_in, d_out in zip(self.sizes[:-1], self.sizes[1:]):
            self.params.append(init.torch_default_linear((d_out, d_in), rng))   # W: (d_out, d_in)
            self.params.append(rng.uniform(-1, 1, d_out) / math.sqrt(d_in))  # b: (d_out,)
        self.grads = [np.zeros_like(p) for p in self.params]
        self._cache = None

    @property
    def num_layers(self):
        return len(self.sizes) - 1

    def forward(self, X):
        """Output (N, d_out); remembers each layer's input h and pre-activation z for backward."""
        X = finite_array("X", X)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ValueError(f"X must have shape (N, {self.sizes[0]}), got {X.shape}")
        h, self._cache = X, []
        for l in range(self.num_layers):
            W, b = self.params[2 * l], self.params[2 * l + 1]
            z = h @ W.T + b                                   # (N, d_out)
            self._cache.append((h, z))
            h = z if l == self.num_layers - 1 else self.f(z)  # no activation on the output
        return h

    __call__ = forward

    def backward(self, grad_out):
        """Given ∂L/∂output (N, d_out), store ∂L/∂W_l, ∂L/∂b_l in `grads`; return ∂L/∂X."""
        if self._cache is None:
            raise ValueError("grad_out: call forward before backward")
        g = finite_array("grad_out", grad_out)            # ∂L/∂z_L (output is linear)
        if g.shape != self._cache[-1][1].shape:
            raise ValueError(f"grad_out must have shape {self._cache[-1][1].shape}, got {g.shape}")
        for l in reversed(range(self.num_layers)):
            h_prev, z = self._cache[l]
            if l < self.num_layers - 1:
                g = g * self.df(z)                            # ∂L/∂z_l = ∂L/∂h_l ⊙ f'(z_l)
            self.grads[2 * l] = g.T @ h_prev                  # ∂L/∂W_l: (d_out, d_in)
            self.grads[2 * l + 1] = g.sum(axis=0)             # ∂L/∂b_l: (d_out,)
            g = g @ self.params[2 * l]                        # ∂L/∂h_{l−1}: (N, d_in)
        return g

    def loss_and_backward(self, X, y, loss="cross_entropy"):
        """Forward, cost, backward in one call; returns the cost (a float)."""
        cost, cost_grad = _loss(loss)
        out = self.forward(X)
        if loss != "cross_entropy":
            y = np.asarray(y, dtype=np.float64).reshape(out.shape)
        value = float(cost(out, y))
        self.backward(cost_grad(out, y))
        return value

    def step(self, lr):
        """Plain gradient descent: p ← p − lr · ∂L/∂p."""
        _check_positive("lr", lr)
        for p, g in zip(self.params, self.grads):
            p -= lr * g

    def predict(self, X):
        """Class labels: argmax of the logits (or logit > 0 for a single output)."""
        out = self.forward(X)
        return out.argmax(axis=1) if out.shape[1] > 1 else (out[:, 0] > 0).astype(np.int64)

    def to_torch(self):
        """The same network as a float64 torch nn.Sequential (dlbook.train.mlp) with copied weights."""
        import torch
        from dlbook import train
        net = train.mlp(self.sizes, self.activation).double()
        linears = [m for m in net if isinstance(m, torch.nn.Linear)]
        with torch.no_grad():
            for l, m in enumerate(linears):
                m.weight.copy_(torch.from_numpy(self.params[2 * l]))
                m.bias.copy_(torch.from_numpy(self.params[2 * l + 1]))
        return net


def minibatches(n, batch_size, rng):
    """Index arrays of one epoch: a fresh permutation of range(n) cut into batches."""
    batch_size = check_int("batch_size", batch_size, 1)
    order = rng.permutation(n)
    return [order[i:i + batch_size] for i in range(0, n, batch_size)]


def accuracy(net, X, y):
    """Fraction of rows whose predicted class equals y."""
    return float(np.mean(net.predict(X) == np.asarray(y)))


def train(net, X, y, *, lr=0.1, num_epochs=10, batch_size=32, loss="cross_entropy", seed=0,
          X_val=None, y_val=None, progress=True, desc="training (NumPy MLP)"):
    """Mini-batch gradient descent with the MLP's own backward pass; returns a history dict."""
    from tqdm.auto import tqdm
    _check_positive("lr", lr)
    num_epochs = check_int("num_epochs", num_epochs, 1)
    cost = _loss(loss)[0]
    X, y = finite_array("X", X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"y must have one entry per row of X ({len(X)}), got {len(y)}")
    rng = np.random.default_rng(seed)
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": [], "diverged_at": None}

    def record(split, A, b):
        with np.errstate(all="ignore"):
            out = net.forward(A)
            target = b if loss == "cross_entropy" else np.asarray(b, dtype=np.float64).reshape(out.shape)
            history[f"{split}_loss"].append(float(cost(out, target)))
        if loss != "mse":
            pred = out.argmax(axis=1) if out.shape[1] > 1 else (out[:, 0] > 0)
            history[f"{split}_acc"].append(float(np.mean(pred == np.asarray(b))))

    for epoch in tqdm(range(num_epochs), desc=desc, disable=not progress, leave=False):
        for idx in minibatches(len(X), batch_size, rng):
            with np.errstate(all="ignore"):
                net.loss_and_backward(X[idx], y[idx], loss)
                net.step(lr)
        record("train", X, y)
        if X_val is not None:
            record("val", finite_array("X_val", X_val), np.asarray(y_val))
        if not np.isfinite(history["train_loss"][-1]):
            history["diverged_at"] = epoch
            break
    return history


# -- gradient checking ---------------------------------------------------------------------------
def numerical_gradient(f, x, eps=1e-6):
    """Central differences (f(x + εe_i) − f(x − εe_i)) / 2ε for every entry of array x (restored after)."""
    _check_positive("eps", eps)
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError("x must be a float64 NumPy array (it is perturbed in place)")
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        f_plus = f()
        flat[i] = old - eps
        f_minus = f()
        flat[i] = old
        gflat[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a, b):
    """‖a − b‖ / (‖a‖ + ‖b‖): ~1e-7 or less means two gradients agree; 0 if both are 0."""
    a, b = finite_array("a", a), finite_array("b", b)
    if a.shape != b.shape:
        raise ValueError(f"b must have the shape of a {a.shape}, got {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def finite_difference_grads(net, X, y, loss="cross_entropy", eps=1e-6):
    """∂cost/∂p for every parameter of `net` by central differences."""
    cost = _loss(loss)[0]

    def f():
        out = net.forward(X)
        target = y if loss == "cross_entropy" else np.asarray(y, dtype=np.float64).reshape(out.shape)
        return float(cost(out, target))
    return [numerical_gradient(f, p, eps) for p in net.params]


def autograd_grads(net, X, y, loss="cross_entropy"):
    """∂cost/∂p for every parameter from torch.autograd on `net.to_torch()` (float64)."""
    import torch
    import torch.nn.functional as F
    tnet = net.to_torch()
    out = tnet(torch.as_tensor(finite_array("X", X)))
    if loss == "cross_entropy":
        value = F.cross_entropy(out, torch.as_tensor(np.asarray(y)))
    elif loss == "bce_with_logits":
        value = F.binary_cross_entropy_with_logits(out, torch.as_tensor(np.asarray(y, float)).reshape(out.shape))
    else:
        _loss(loss)
        value = F.mse_loss(out, torch.as_tensor(np.asarray(y, float)).reshape(out.shape))
    value.backward()
    return [p.grad.numpy().copy() for p in tnet.parameters()]


def gradient_check(net, X, y, loss="cross_entropy", eps=1e-6):
    """Relative errors per parameter: (backward vs autograd, backward vs finite differences)."""
    net.loss_and_backward(X, y, loss)
    mine = [g.copy() for g in net.grads]
    torch_g = autograd_grads(net, X, y, loss)
    fd = finite_difference_grads(net, X, y, loss, eps)
    return ([relative_error(a, b) for a, b in zip(mine, torch_g)],
            [relative_error(a, b) for a, b in zip(mine, fd)])


# -- why non-linearity -------------------------------------------------------------------------
def collapse_linear(weights, biases):
    """One (W, b) equal to the stack z_l = z_{l−1} W_lᵀ + b_l: W = W_L⋯W_1, b = W_L⋯W_2 b_1 + ⋯ + b_L."""
    if len(weights) != len(biases) or not weights:
        raise ValueError("biases must have one entry per weight matrix")
    W, b = finite_array("weights", weights[0]), finite_array("biases", biases[0])
    for W_l, b_l in zip(weights[1:], biases[1:]):
        W_l = finite_array("weights", W_l)
        if W_l.shape[1] != W.shape[0]:
            raise ValueError(f"weights: shapes {W.shape} and {W_l.shape} do not chain")
        W, b = W_l @ W, W_l @ b + finite_array("biases", b_l)
    return W, b


def dead_units(net, X, layer=0):
    """Indices of the units of hidden `layer` whose pre-activation is ≤ 0 on every row of X.

    For ReLU such a unit outputs 0 and passes gradient 0 on all of X, so plain SGD never changes
    its weights while its inputs stay fixed (a first hidden layer); in deeper layers, updates to the
    layers below, or momentum and weight decay, can still move it.
    """
    layer = check_int("layer", layer, 0, net.num_layers - 2)
    net.forward(X)
    z = net._cache[layer][1]                                  # (N, d_layer): pre-activations
    return np.flatnonzero((z <= 0).all(axis=0))


def gd_steps_to_optimum(X, y, tol=1e-6, max_steps=100_000):
    """Gradient descent on the MSE of a linear model with bias, ŷ = Xw + b, from w = b = 0.

    The step size is 1/λ_max of the Hessian 2AᵀA/n (A = [X, 1]), half the stability limit
    2/λ_max and the largest step at which no mode overshoots: the same relative step for every
    design. Returns (steps until the excess cost − min has fallen to
    tol × its value at the start, λ_max/λ_min).
    """
    X, y = check_Xy(X, y)
    _check_positive("tol", tol)
    max_steps = check_int("max_steps", max_steps, 1)
    A = np.hstack([X, np.ones((len(X), 1))])
    eig = np.linalg.eigvalsh(2 * A.T @ A / len(A))
    if eig[0] <= 1e-12 * eig[-1]:
        raise ValueError("X: the columns of [X, 1] are linearly dependent; the optimum is not unique")
    best = np.mean((A @ np.linalg.lstsq(A, y, rcond=None)[0] - y) ** 2)
    w = np.zeros(A.shape[1])
    target = tol * (np.mean(y ** 2) - best)                   # the excess cost at w = 0 is mean(y²) − min
    for step in range(max_steps + 1):
        r = A @ w - y
        if np.mean(r ** 2) - best <= target:
            return step, float(eig[-1] / eig[0])
        w -= (1 / eig[-1]) * 2 * A.T @ r / len(A)
    return max_steps, float(eig[-1] / eig[0])


XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


# -- figures -------------------------------------------------------------------------------------
ACTIVATION_NAMES = ("sigmoid", "tanh", "relu", "leaky_relu", "gelu")


def plot_activations(x=None):
    """Each activation (left) and its derivative (right) on [−5, 5]."""
    x = np.linspace(-5, 5, 501) if x is None else finite_array("x", x)
    fig, (ax_f, ax_d) = plot.figure(1, 2, figsize=(8, 3.2))
    for name, color in zip(ACTIVATION_NAMES, plot.COLORS):
        f, df = activations.get(name)
        ax_f.plot(x, f(x), color=color, label=name)
        ax_d.plot(x, df(x), color=color, label=name)
    ax_f.set_ylim(-1.5, 3)
    ax_f.set_title("activation f(x)")
    ax_d.set_title("derivative f'(x)")
    ax_d.set_ylim(-0.2, 1.2)
    ax_f.legend(fontsize=8)
    for ax in (ax_f, ax_d):
        ax.set_xlabel("x")
    return fig


def plot_softmax(z=(2.0, 1.0, 0.1)):
    """Left: softmax of logits (t, 1, 0) as t varies, and σ(t − 1); right: logits z vs softmax(z)."""
    t = np.linspace(-5, 6, 221)
    logits = np.column_stack([t, np.ones_like(t), np.zeros_like(t)])     # (221, 3)
    s = activations.softmax(logits, axis=1)
    fig, (ax_t, ax_b) = plot.figure(1, 2, figsize=(8, 3), width_ratios=[1.5, 1])
    for c, color in enumerate(plot.COLORS[:3]):
        ax_t.plot(t, s[:, c], color=color, label=f"p{c + 1}  (logit {['t', '1', '0'][c]})")
    ax_t.plot(t, activations.sigmoid(t - 1), "k:", lw=1.2, label="σ(t − 1) = p1 of (t, 1) only")
    ax_t.set_xlabel("logit t of class 1")
    ax_t.set_ylabel("probability")
    ax_t.legend(fontsize=8, loc="center left")
    ax_t.set_title("softmax of (t, 1, 0)", fontsize=10)
    z = finite_array("z", z)
    k = np.arange(len(z))
    ax_b.bar(k - 0.2, z, width=0.4, color=plot.COLORS[5], label="logit")
    ax_b.bar(k + 0.2, activations.softmax(z), width=0.4, color=plot.COLORS[0], label="softmax")
    ax_b.set_xticks(k, [f"class {i + 1}" for i in k])
    ax_b.legend(fontsize=8)
    ax_b.set_title(f"z = {np.round(z, 2).tolist()}", fontsize=10)
    return fig


def draw_activation_explorer(fig, activation="sigmoid", x0=1.0):
    """f with its tangent at x0 (slope f'(x0)); f' with the point (x0, f'(x0)). For clear=False."""
    f, df = activations.get(activation)
    x = np.linspace(-6, 6, 301)
    if plot.artists(fig, "activation_explorer") is None:
        fig.clear()
        ax_f, ax_d = fig.subplots(1, 2)
        ax_f.plot([], [], color=plot.COLORS[0])
        ax_f.plot([], [], "--", color=plot.COLORS[1], lw=1.2)
        ax_f.plot([], [], "o", color=plot.COLORS[1])
        ax_d.plot([], [], color=plot.COLORS[2])
        ax_d.plot([], [], "o", color=plot.COLORS[1])
        ax_d.set_ylim(-0.2, 1.25)
        for ax in (ax_f, ax_d):
            ax.set_xlim(-6, 6)
            ax.set_xlabel("x")
        plot.message(ax_d, "f'(x0) ≈ 0: saturated or dead unit,\nalmost no gradient flows back")
        plot.keep_artists(fig, "activation_explorer")
    ax_f, ax_d = fig.axes
    y0, s0 = float(f(x0)), float(df(x0))
    ax_f.lines[0].set_data(x, f(x))
    ax_f.lines[1].set_data(x, y0 + s0 * (x - x0))
    ax_f.lines[2].set_data([x0], [y0])
    ax_f.set_ylim(-1.5, 6.5 if activation in ("relu", "leaky_relu", "gelu") else 1.5)
    ax_f.set_title(f"{activation}({x0:.2f}) = {y0:.4f}, tangent slope {s0:.4f}", fontsize=10)
    ax_d.lines[0].set_data(x, df(x))
    ax_d.lines[1].set_data([x0], [s0])
    ax_d.set_title(f"derivative {activation}'(x)", fontsize=10)
    ax_d.texts[0].set_visible(abs(s0) < 0.02)


HUBER_DATA_SEED = 0


def huber_data(n_outliers, n=30, seed=HUBER_DATA_SEED):
    """n standard-normal values plus n_outliers far to the right (around +8)."""
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.standard_normal(n), 8 + rng.standard_normal(int(n_outliers))])


_R = np.linspace(-4, 4, 401)        # residual axis of the Huber figure
_C = np.linspace(-2, 9, 441)        # candidate constant predictions


def draw_huber(fig, delta=1.0, n_outliers=5):
    """Loss and gradient vs residual for MSE, MAE, Huber(δ); the best constant under each cost.

    For `interactive(..., clear=False)`: axes and artists are built once, then only updated.
    """
    zero = np.zeros_like(_R)
    if plot.artists(fig, "huber") is None:
        fig.clear()
        ax_l, ax_g, ax_c = fig.subplots(1, 3)
        for ax, fixed in ((ax_l, (losses.mse(_R, zero, "none"), losses.mae(_R, zero, "none"))),
                          (ax_g, (losses.mse_grad(_R, zero, "sum"), losses.mae_grad(_R, zero, "sum")))):
            ax.plot(_R, fixed[0], color=plot.COLORS[0], label="MSE")
            ax.plot(_R, fixed[1], color=plot.COLORS[2], label="MAE")
            ax.plot([], [], color=plot.COLORS[1], label="Huber")
            for _ in range(2):
                ax.axvline(0, color=plot.COLORS[1], ls=":", lw=1)
            ax.set_xlabel("residual r = ŷ − y")
            ax.set_xlim(-4, 4)
            ax.set_xticks([-4, -2, 0, 2, 4])
        ax_l.set_ylim(-0.2, 8)
        ax_l.set_yticks([0, 2, 4, 6, 8])
        ax_l.legend(fontsize=8, loc="upper center")
        ax_g.set_ylim(-4.5, 4.5)
        ax_g.set_yticks([-4, -2, 0, 2, 4])
        ax_g.set_title("gradient ∂loss/∂ŷ", fontsize=10)
        for color in (plot.COLORS[0], plot.COLORS[2], plot.COLORS[1]):
            ax_c.plot([], [], color=color)
        for color in (plot.COLORS[0], plot.COLORS[2], plot.COLORS[1]):
            ax_c.axvline(0, color=color, ls="--", lw=1)
        ax_c.plot([], [], "|", color="black", ms=8)
        ax_c.set_xlim(_C[0], _C[-1])
        ax_c.set_ylim(-0.1, 1.05)
        ax_c.set_yticks([])
        ax_c.set_xticks([0, 4, 8])
        ax_c.set_xlabel("constant prediction c")
        plot.keep_artists(fig, "huber")
    ax_l, ax_g, ax_c = fig.axes
    d_shown = min(delta, 4.5)
    for ax, curve in ((ax_l, losses.huber(_R, zero, delta, "none")), (ax_g, losses.huber_grad(_R, zero, delta, "sum"))):
        ax.lines[2].set_data(_R, curve)
        ax.lines[3].set_xdata([-d_shown, -d_shown])
        ax.lines[4].set_xdata([d_shown, d_shown])
    ax_l.set_title(f"loss (Huber δ = {delta:.3g}, dotted: ±δ)", fontsize=10)
    # best constant prediction for a sample with outliers: mean (MSE), median (MAE), Huber in between
    y = huber_data(n_outliers)
    res = _C[:, None] - y[None, :]                                   # (candidates, samples)
    costs = ((res ** 2).mean(1), np.abs(res).mean(1), losses.huber(res, np.zeros_like(res), delta, "none").mean(1))
    best = []
    for line, vline, cost in zip(ax_c.lines[:3], ax_c.lines[3:6], costs):
        line.set_data(_C, (cost - cost.min()) / (np.ptp(cost) + 1e-300))  # rescaled to [0, 1]
        best.append(_C[cost.argmin()])
        vline.set_xdata([best[-1]] * 2)
    ax_c.lines[6].set_data(y, np.full_like(y, -0.05))
    ax_c.set_title(f"{n_outliers} outliers: mean {best[0]:.2f}, median {best[1]:.2f},\n"
                   f"Huber {best[2]:.2f} (cost rescaled)", fontsize=9)


def plot_bce():
    """BCE of a probability p for y = 1 and y = 0, with the notes' −log 0.6 marked."""
    p = np.linspace(0, 1, 501)
    fig, ax = plot.figure(figsize=(5, 3))
    ax.plot(p, losses.binary_cross_entropy(p, np.ones_like(p), "none"), label="y = 1:  −log p")
    ax.plot(p, losses.binary_cross_entropy(p, np.zeros_like(p), "none"), label="y = 0:  −log(1 − p)")
    ax.plot([0.6], [-math.log(0.6)], "o", color="black")
    ax.annotate(f"−log 0.6 = {-math.log(0.6):.3f}", (0.6, -math.log(0.6)), (0.62, 1.8), arrowprops={"arrowstyle": "->"})
    ax.set_ylim(0, 5)
    ax.set_xlabel("predicted probability p of class 1")
    ax.set_ylabel("loss")
    ax.legend()
    return fig


def plot_decision_boundaries(nets, titles, X, y, lim=(-0.5, 1.5)):
    """Predicted probability of class 1 over the plane for each 1-output net, with the points."""
    g = np.linspace(*lim, 121)
    xx, yy = np.meshgrid(g, g)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    fig, axes = plot.figure(1, len(nets), figsize=(3.6 * len(nets), 3.2))
    for ax, net, title in zip(np.atleast_1d(axes), nets, titles):
        p = activations.sigmoid(net.forward(grid)[:, 0]).reshape(xx.shape)
        ax.contourf(xx, yy, p, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.7)
        if np.ptp(p) > 1e-3:  # a flat p ≈ 0.5 has no meaningful 0.5 contour
            ax.contour(xx, yy, p, levels=[0.5], colors="black", linewidths=1)
        ax.scatter(X[:, 0], X[:, 1], c=[plot.COLORS[0] if t == 0 else plot.COLORS[1] for t in y],
                   s=80, edgecolors="black", zorder=3)
        ax.set_title(title, fontsize=10)
        ax.set_aspect("equal")
        ax.grid(False)
    return fig


def plot_history(history, title=""):
    """Loss (left) and accuracy (right) per epoch for train and, if present, validation."""
    fig, (ax_l, ax_a) = plot.figure(1, 2, figsize=(8, 3))
    epochs = np.arange(1, len(history["train_loss"]) + 1)
    for split, color in (("train", plot.COLORS[0]), ("val", plot.COLORS[1])):
        if history[f"{split}_loss"]:
            ax_l.plot(epochs, history[f"{split}_loss"], "o-", ms=3, color=color, label=split)
        if history[f"{split}_acc"]:
            ax_a.plot(epochs, history[f"{split}_acc"], "o-", ms=3, color=color, label=split)
    ax_l.set_title("cost (mean cross-entropy)")
    ax_a.set_title("accuracy")
    for ax in (ax_l, ax_a):
        ax.set_xlabel("epoch")
    ax_l.legend()
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
