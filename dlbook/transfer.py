"""Transfer learning and fine-tuning: freezing by layer name, layer-wise learning rates,
a strategy runner, weight-change measurement and a linear probe.

Networks are `nn.Sequential`s with named layers (fc1, act1, fc2, act2, ..., head), so a
"layer group" is a name prefix. A *stacked* network holds `n_models` independent copies of
the same architecture (weights (n_models, d_out, d_in)): one full-batch training run then
trains a whole sweep of seeds and training-set sizes at once. torch is imported lazily.
"""
import math
from collections import OrderedDict
from functools import lru_cache

import numpy as np

from dlbook import optim, plot
from dlbook.checks import check_int, check_positive, check_real, check_sizes, finite_array
from dlbook.util import one_blas_thread

# Strategies compared in the chapter: which layer groups train, and how.
STRATEGIES = ("scratch", "features", "last", "full", "progressive", "discriminative")
LABELS = {"scratch": "from scratch", "features": "feature extraction (frozen body)",
          "last": "fine-tune last layers", "full": "full fine-tuning",
          "progressive": "progressive unfreezing", "discriminative": "discriminative LRs",
          "features_fc1": "features after fc1 (fc2 dropped)", "lpft": "LP-FT (probe, then fine-tune)"}


# -- data: digits placed anywhere on a larger canvas ---------------------------------------------
def place_on_canvas(X, size, rng, copies=1, side=8):
    """Paste each side×side image of X (N, side²) at a random offset in a size×size canvas.

    Returns (N*copies, size²); copy c of image i is row c*N + i. Offsets are uniform in
    {0, ..., size-side}² (size == side gives the images unchanged).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != side * side:
        raise ValueError(f"X must have shape (N, {side * side}), got {X.shape}")
    size, copies = check_int("size", size, side), check_int("copies", copies, 1)
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    n = len(X)
    offsets = rng.integers(0, size - side + 1, size=(n * copies, 2))   # (row, col) of top-left
    out = np.zeros((n * copies, size, size))
    for i, (r, c) in enumerate(offsets):
        out[i, r:r + side, c:c + side] = X[i % n].reshape(side, side)
    return out.reshape(n * copies, size * size)


def sample_per_class(y, n_per_class, rng, classes=None):
    """Indices of `n_per_class` examples of every class of y, drawn without replacement."""
    y = np.asarray(y)
    classes = np.unique(y) if classes is None else np.asarray(classes)
    n_per_class = check_int("n_per_class", n_per_class, 1)
    counts = {c: int((y == c).sum()) for c in classes}
    if min(counts.values()) < n_per_class:
        raise ValueError(f"n_per_class={n_per_class} exceeds the smallest class count {counts}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    return np.concatenate([rng.choice(np.flatnonzero(y == c), n_per_class, replace=False)
                           for c in classes])


# -- networks with named layers ------------------------------------------------------------------
def _layer_names(n_linear):
    return [f"fc{i + 1}" for i in range(n_linear - 1)] + ["head"]


def named_mlp(sizes):
    """ReLU MLP whose Linear layers are called fc1, fc2, ..., head: sizes = [d_in, ..., d_out]."""
    import torch.nn as nn
    sizes = check_sizes("sizes", sizes)
    names, layers = _layer_names(len(sizes) - 1), []
    for i, (name, d_in, d_out) in enumerate(zip(names, sizes[:-1], sizes[1:])):
        layers.append((name, nn.Linear(d_in, d_out)))
        if name != "head":
            layers.append((f"act{i + 1}", nn.ReLU()))
    return nn.Sequential(OrderedDict(layers))


@lru_cache(maxsize=None)
def _stacked_linear_class():
    import torch

    class StackedLinear(torch.nn.Module):
        """n_models independent Linear layers: x (M, N, d_in) -> x @ W^T + b, W (M, d_out, d_in)."""

        def __init__(self, n_models, d_in, d_out):
            super().__init__()
            bound = 1.0 / math.sqrt(d_in)                 # nn.Linear's default U(-1/√d_in, 1/√d_in)
            self.weight = torch.nn.Parameter(torch.empty(n_models, d_out, d_in).uniform_(-bound, bound))
            self.bias = torch.nn.Parameter(torch.empty(n_models, 1, d_out).uniform_(-bound, bound))

        def forward(self, x):
            return torch.baddbmm(self.bias, x, self.weight.transpose(1, 2))   # (M, N, d_out)

    return StackedLinear


def stacked_mlp(sizes, n_models):
    """`n_models` independent copies of named_mlp(sizes) trained side by side: x (M, N, d_in)."""
    import torch.nn as nn
    sizes = check_sizes("sizes", sizes)
    n_models = check_int("n_models", n_models, 1)
    Linear = _stacked_linear_class()
    names, layers = _layer_names(len(sizes) - 1), []
    for i, (name, d_in, d_out) in enumerate(zip(names, sizes[:-1], sizes[1:])):
        layers.append((name, Linear(int(n_models), d_in, d_out)))
        if name != "head":
            layers.append((f"act{i + 1}", nn.ReLU()))
    return nn.Sequential(OrderedDict(layers))


def load_body(stacked, net, exclude=("head",)):
    """Copy a named_mlp's weights into every model of a stacked_mlp, except layers in `exclude`."""
    import torch
    source = dict(net.named_parameters())
    with torch.no_grad():
        for name, p in stacked.named_parameters():
            if _matches(name, exclude):
                continue
            if name not in source:
                raise ValueError(f"net has no parameter {name!r} to load")
            w = source[name].reshape(1, *p.shape[1:]) if name.endswith("bias") else source[name]
            p.copy_(w.expand_as(p))
    return stacked


# -- freezing by layer name ------------------------------------------------------------------------
def _matches(name, prefixes):
    """True if parameter `name` ('fc1.weight') belongs to a layer named by one of `prefixes`."""
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _check_prefixes(net, prefixes, arg="prefixes"):
    if isinstance(prefixes, str):
        prefixes = (prefixes,)
    prefixes = tuple(prefixes)
    names = [n for n, _ in net.named_parameters()]
    for p in prefixes:
        if not any(_matches(n, (p,)) for n in names):
            raise ValueError(f"{arg}: {p!r} matches no parameter; known layers: {layer_groups(net)}")
    return prefixes


def layer_groups(net):
    """Names of the layers that own parameters, input to output: ['fc1', 'fc2', 'head']."""
    groups = []
    for name, _ in net.named_parameters():
        g = name.rsplit(".", 1)[0]
        if g not in groups:
            groups.append(g)
    return groups


def set_trainable(net, prefixes, trainable):
    """requires_grad = trainable for every parameter of the layers named by `prefixes`."""
    for name, p in net.named_parameters():
        if _matches(name, _check_prefixes(net, prefixes)):
            p.requires_grad_(bool(trainable))
    return net


def freeze(net, prefixes):
    """Freeze the layers named by `prefixes` (no gradient, so no optimizer update)."""
    return set_trainable(net, prefixes, False)


def unfreeze(net, prefixes):
    """Make the layers named by `prefixes` trainable again."""
    return set_trainable(net, prefixes, True)


def freeze_all_but(net, prefixes):
    """Train only the layers named by `prefixes`; freeze everything else."""
    prefixes = _check_prefixes(net, prefixes)
    for name, p in net.named_parameters():
        p.requires_grad_(_matches(name, prefixes))
    return net


def trainable_names(net):
    """Names of the parameters that currently require a gradient."""
    return [n for n, p in net.named_parameters() if p.requires_grad]


# -- layer-wise (discriminative) learning rates -------------------------------------------------------
def layerwise_lrs(groups, lr, decay):
    """{group: lr · decay^(distance from the top)}: the head gets lr, each layer below × decay."""
    groups = list(groups)
    if not groups:
        raise ValueError("groups must not be empty")
    lr, decay = check_positive("lr", lr), check_real("decay", decay, 0.0, 1.0)
    depth = len(groups) - 1
    return {g: lr * decay ** (depth - i) for i, g in enumerate(groups)}


def param_groups(net, lrs, include_frozen=False):
    """torch optimizer param groups from {layer prefix: lr}; frozen parameters are left out
    (kept with include_frozen=True, for layers unfrozen later). Every trainable parameter
    must belong to exactly one prefix (ValueError otherwise).
    """
    if not isinstance(lrs, dict) or not lrs:
        raise ValueError(f"lrs must be a non-empty dict {{prefix: lr}}, got {lrs!r}")
    _check_prefixes(net, tuple(lrs), arg="lrs")
    for prefix, lr in lrs.items():
        check_real(f"lrs[{prefix!r}]", lr, 0.0)
    groups = {prefix: [] for prefix in lrs}
    for name, p in net.named_parameters():
        owners = [prefix for prefix in lrs if _matches(name, (prefix,))]
        if len(owners) > 1:
            raise ValueError(f"lrs: parameter {name!r} matches several prefixes {owners}")
        if p.requires_grad and not owners:
            raise ValueError(f"lrs: trainable parameter {name!r} has no learning rate")
        if owners and (p.requires_grad or include_frozen):
            groups[owners[0]].append(p)
    return [{"params": ps, "lr": float(lrs[prefix]), "name": prefix}
            for prefix, ps in groups.items() if ps]


def unfreezing_schedule(groups, num_steps):
    """Progressive unfreezing: [(first step, trainable groups)], top group first, one more per stage."""
    groups = list(groups)
    if not groups:
        raise ValueError("groups must not be empty")
    num_steps = check_int("num_steps", num_steps, len(groups))   # >= one step per group
    starts = [int(round(s * num_steps / len(groups))) for s in range(len(groups))]
    return [(start, groups[len(groups) - 1 - s:]) for s, start in enumerate(starts)]


# -- training a stack of models --------------------------------------------------------------------
def stack_data(X, y, subsets):
    """Pad the per-model training sets X[subsets[m]] to float32 tensors (M, N_max, d), (M, N_max), mask."""
    import torch
    n_max = max(len(s) for s in subsets)
    M, d = len(subsets), X.shape[1]
    Xs, ys, mask = np.zeros((M, n_max, d)), np.zeros((M, n_max), np.int64), np.zeros((M, n_max))
    for m, idx in enumerate(subsets):
        Xs[m, :len(idx)], ys[m, :len(idx)], mask[m, :len(idx)] = X[idx], y[idx], 1.0
    return (torch.tensor(Xs, dtype=torch.float32), torch.tensor(ys),
            torch.tensor(mask, dtype=torch.float32))


def stacked_loss(net, X, y, mask, per_model=False):
    """Sum over models of each model's mean cross-entropy on its own (unpadded) examples
    (per_model=True: the (M,) tensor of those means)."""
    import torch.nn.functional as F
    logits = net(X.to(next(net.parameters()).dtype))                    # (M, N, C)
    ce = F.cross_entropy(logits.transpose(1, 2), y, reduction="none")    # (M, N)
    per = (ce * mask).sum(1) / mask.sum(1)
    return per if per_model else per.sum()


def train_losses(net, X_train, y_train, subsets):
    """Each model's mean cross-entropy on its whole training set X_train[subsets[m]]: (M,)."""
    import torch
    X, y, mask = stack_data(np.asarray(X_train), np.asarray(y_train), subsets)
    with torch.no_grad():
        return stacked_loss(net, X, y, mask, per_model=True).double().numpy()


def stacked_accuracy(net, X, y):
    """Accuracy of every model of the stack on the same test set: X (N, d), y (N,) -> (M,)."""
    import torch
    with torch.no_grad():
        p = next(net.parameters())
        M = p.shape[0]
        Xt = torch.as_tensor(np.asarray(X), dtype=p.dtype).expand(M, -1, -1)
        pred = net(Xt).argmax(-1).numpy()                                   # (M, N)
    return (pred == np.asarray(y)[None]).mean(1)


def snapshot(net):
    """Copy of every parameter as NumPy: {name: array}."""
    return {n: p.detach().numpy().copy() for n, p in net.named_parameters()}


def sample_batch(mask, batch_size, generator=None):
    """Indices (M, B) of B random valid examples per model (all of them when a model has <= B).

    mask: (M, N_max) with 1 for real examples, 0 for padding; padding only fills the rows of
    models with fewer than B examples (and carries mask 0 there).
    """
    import torch
    batch_size = check_int("batch_size", batch_size, 1)
    B = min(int(batch_size), mask.shape[1])
    scores = torch.rand(mask.shape, generator=generator) + 2.0 * mask   # valid: [2, 3), pad: [0, 1)
    return scores.topk(B, dim=1).indices


def train_stack(net, X, y, mask, *, num_steps, lrs, schedule=None, batch_size=None, seed=0,
                snapshot_every=None, progress=True, desc="fine-tuning"):
    """Adam on a stacked network; each model sees only its own examples.

    lrs: {layer prefix: lr} for the trainable layers. schedule: optional
    [(first step, trainable groups)] from unfreezing_schedule. batch_size: None for full
    batch, else a random mini-batch of that many examples per model and step.
    Returns {'loss': [...], 'snapshots': {step: {name: array}}}.
    """
    import torch
    from tqdm.auto import tqdm
    num_steps = check_int("num_steps", num_steps, 1)
    if schedule is not None:
        freeze_all_but(net, schedule[0][1])
    # layers frozen now but unfrozen later must already be in the optimizer
    # fused: one kernel per step for all parameters (the element-wise update dominates here)
    groups = {}                         # one group per distinct lr: fewer fused calls, same update
    for g in param_groups(net, lrs, include_frozen=schedule is not None):
        groups.setdefault(g["lr"], []).extend(g["params"])
    opt = torch.optim.Adam([{"params": ps, "lr": lr} for lr, ps in groups.items()], fused=True)
    gen = torch.Generator().manual_seed(int(seed))
    history = {"loss": [], "snapshots": {}}
    if snapshot_every:
        history["snapshots"][0] = snapshot(net)
    stages = dict(schedule or [])
    for step in tqdm(range(num_steps), desc=desc, disable=not progress, leave=False):
        if step in stages:
            freeze_all_but(net, stages[step])                # frozen params get grad None: Adam skips them
        Xb, yb, mb = X, y, mask
        if batch_size is not None and batch_size < X.shape[1]:
            idx = sample_batch(mask, batch_size, gen)        # (M, B)
            Xb = X.gather(1, idx[..., None].expand(-1, -1, X.shape[2]))
            yb, mb = y.gather(1, idx), mask.gather(1, idx)
        opt.zero_grad(set_to_none=True)
        loss = stacked_loss(net, Xb, yb, mb)
        loss.backward()
        opt.step()
        history["loss"].append(loss.item())
        if snapshot_every and (step + 1) % snapshot_every == 0:
            history["snapshots"][step + 1] = snapshot(net)
    return history


def strategy_setup(strategy, groups, lr, decay=0.3, num_steps=100):
    """(trainable groups, {group: lr}, schedule) of a named strategy over `groups` (input→head)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {STRATEGIES}, got {strategy!r}")
    groups = list(groups)
    trainable = {"features": groups[-1:], "last": groups[-2:]}.get(strategy, groups)
    if strategy == "discriminative":
        lrs = layerwise_lrs(groups, lr, decay)
    else:
        lrs = {g: lr for g in trainable}
    schedule = unfreezing_schedule(groups, num_steps) if strategy == "progressive" else None
    return trainable, lrs, schedule


def run_strategy(strategy, pretrained, sizes, X_train, y_train, subsets, X_test, y_test, *,
                 lr=1e-2, decay=0.3, num_steps=100, batch_size=None, snapshot_every=None,
                 init_seed=0, progress=True, init=None, cache_frozen=False, dtype=None):
    """Train one stacked model per training subset with `strategy`; return test accuracies (M,).

    pretrained: a named_mlp whose body (all but 'head') initializes every strategy except
    'scratch'; init: a stacked_mlp of the same shape whose weights (head included) are the
    start instead (e.g. the result of a feature-extraction run, for LP-FT).
    cache_frozen: when the lowest layers stay frozen throughout (feature extraction, 'last'),
    compute their output once and train only the layers above (same result, much cheaper).
    dtype: e.g. torch.float64 for numbers that do not depend on the CPU's kernels (default float32).
    Also returns the training history (snapshots for weight-change plots) and the network.
    """
    import torch
    torch.manual_seed(init_seed)
    net = stacked_mlp(sizes, len(subsets))
    if dtype is not None:
        net = net.to(dtype)
    if init is not None:
        with torch.no_grad():
            for (name, p), (name0, q) in zip(net.named_parameters(), init.named_parameters()):
                if name != name0 or p.shape != q.shape:
                    raise ValueError(f"init: parameter {name0!r} {tuple(q.shape)} does not match "
                                     f"{name!r} {tuple(p.shape)}")
                p.copy_(q)
    elif strategy != "scratch":
        load_body(net, pretrained)
    groups = layer_groups(net)
    trainable, lrs, schedule = strategy_setup(strategy, groups, lr, decay, num_steps)
    freeze_all_but(net, trainable)
    X, y, mask = stack_data(X_train, y_train, subsets)
    if dtype is not None:
        X, mask = X.to(dtype), mask.to(dtype)
    top, frozen = net, {}
    cut = [n for n, _ in net.named_children()].index(trainable[0])
    if cache_frozen and schedule is None and cut > 0:
        with torch.no_grad():
            X = net[:cut](X)                                 # (M, N, d) features of the frozen layers
        top, frozen = net[cut:], snapshot(net[:cut])         # a slice shares the parameters
    history = train_stack(top, X, y, mask, num_steps=num_steps, lrs=lrs, schedule=schedule,
                          batch_size=batch_size, seed=init_seed, snapshot_every=snapshot_every,
                          progress=progress, desc=strategy)
    if frozen:
        history["snapshots"] = {t: {**frozen, **snap} for t, snap in history["snapshots"].items()}
    return stacked_accuracy(net, X_test, y_test), history, net


def lr_sweep(strategy, lrs, pretrained, sizes, X_train, y_train, subsets, X_val, y_val,
             X_test, y_test, snapshot_lr=None, snapshot_every=None, **kwargs):
    """run_strategy at every learning rate of `lrs` (weights snapshotted only at snapshot_lr).

    Returns {'val': (L, M), 'test': (L, M), 'loss': (L, M) final training losses,
    'runs': [(history, net)] per lr}.
    """
    lrs = [check_positive("lrs", v) for v in lrs]
    out = {"val": [], "test": [], "loss": [], "runs": []}
    for v in lrs:
        every = snapshot_every if snapshot_lr is not None and math.isclose(v, snapshot_lr) else None
        acc, hist, net = run_strategy(strategy, pretrained, sizes, X_train, y_train, subsets,
                                      X_test, y_test, lr=v, snapshot_every=every, **kwargs)
        out["val"].append(stacked_accuracy(net, X_val, y_val))
        out["test"].append(acc)
        out["loss"].append(train_losses(net, X_train, y_train, subsets))
        out["runs"].append((hist, net))
    for key in ("val", "test", "loss"):
        out[key] = np.array(out[key])
    return out


def select_by_validation(val, test, n_groups):
    """Per group of models, the setting with the best mean validation accuracy.

    val, test: (L settings, M models), models ordered group by group (M = n_groups × seeds).
    Returns (best setting per group (n_groups,), test accuracy at it (n_groups, seeds)).
    """
    val, test = np.asarray(val, float), np.asarray(test, float)
    if val.shape != test.shape or val.ndim != 2:
        raise ValueError(f"val and test must be (L, M) arrays of one shape, got {val.shape}, {test.shape}")
    n_groups = check_int("n_groups", n_groups, 1)
    if val.shape[1] % n_groups:
        raise ValueError(f"n_groups={n_groups} does not divide the {val.shape[1]} models")
    L = val.shape[0]
    v, t = val.reshape(L, n_groups, -1), test.reshape(L, n_groups, -1)
    best = v.mean(2).argmax(0)                                  # first best on ties
    return best, t[best, np.arange(n_groups)]


def swap_head(stacked, net, head="head"):
    """Copy of a stacked network whose layer `head` is the named_mlp `net`'s, in every model."""
    import copy
    out = copy.deepcopy(stacked)
    return load_body(out, net, exclude=tuple(g for g in layer_groups(out) if g != head))


def fit_head(net, X, y, *, num_steps=100, lr=1e-2, bn_eval=True):
    """Full-batch Adam on the trainable parameters of a (non-stacked) net; the rest stays frozen.

    bn_eval: keep BatchNorm layers in eval mode, so a frozen body's running statistics do not
    drift to the target batches (requires_grad=False does not stop that). Returns the net.
    """
    import torch
    num_steps = check_int("num_steps", num_steps, 1)
    params = [p for p in net.parameters() if p.requires_grad]
    if not params:
        raise ValueError("net has no trainable parameter")
    opt = torch.optim.Adam(params, lr=check_positive("lr", lr))
    Xt, yt = torch.as_tensor(np.asarray(X), dtype=params[0].dtype), torch.as_tensor(np.asarray(y))
    net.train()
    for m in net.modules():
        if bn_eval and isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.eval()                                   # use (and keep) the source statistics
    for _ in range(num_steps):
        opt.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(net(Xt), yt).backward()
        opt.step()
    return net.eval()


# -- what moved, what was learned ------------------------------------------------------------------
def relative_change(before, after, groups=None):
    """{layer: ‖W_after − W_before‖_F / ‖W_before‖_F} from two {param name: array} dicts.

    Stacked weights (M, d_out, d_in) give one value per model (shape (M,)). Weights only.
    """
    groups = groups or sorted({n.rsplit(".", 1)[0] for n in before})
    out = {}
    for g in groups:
        key = f"{g}.weight"
        if key not in before or key not in after:
            raise ValueError(f"groups: no weight {key!r} in before/after")
        W0, W1 = np.asarray(before[key], float), np.asarray(after[key], float)
        if W0.shape != W1.shape:
            raise ValueError(f"after[{key!r}] has shape {W1.shape}, before has {W0.shape}")
        axes = tuple(range(W0.ndim - 2, W0.ndim))              # the (d_out, d_in) axes
        out[g] = np.sqrt(((W1 - W0) ** 2).sum(axes)) / np.sqrt((W0 ** 2).sum(axes))
    return out


def weight_change_history(history, models, groups, filter_model):
    """From train_stack snapshots: {'change': {step: {layer: (len(models),)}}, 'fc1': {step: W}}.

    W is the first layer's weight of model `filter_model`, shape (d_hidden, d_in).
    """
    snaps = history["snapshots"]
    if not snaps:
        raise ValueError("history holds no snapshots: train with snapshot_every")
    first = snaps[0]
    change, fc1 = {}, {}
    for step, snap in snaps.items():
        rel = relative_change(first, snap, groups)
        change[step] = {g: rel[g][models] for g in groups}
        fc1[step] = snap[f"{groups[0]}.weight"][filter_model]
    return {"change": change, "fc1": fc1}


def layer_features(net, X, upto):
    """Activations of a named_mlp after layer `upto` ('input', 'act1', 'act2', ...): (N, d)."""
    import torch
    X = np.asarray(X, dtype=np.float64)
    if upto == "input":
        return X
    names = [n for n, _ in net.named_children()]
    if upto not in names:
        raise ValueError(f"upto must be 'input' or one of {names}, got {upto!r}")
    h = torch.as_tensor(X, dtype=next(net.parameters()).dtype)
    with torch.no_grad():
        for name, module in net.named_children():
            h = module(h)
            if name == upto:
                break
    return h.double().numpy()


def _softmax_regression(w, F, y, C, k):
    """Objective C·Σ_i CE_i + ½‖W‖² (bias unpenalized, as scikit-learn) and its gradient, for
    scipy: w = [W (d, k) flattened, b (k,)]; the cross-entropy is `optim`'s softmax regression."""
    n, d = F.shape
    W, b = w[:d * k].reshape(d, k), w[d * k:]
    loss = C * n * optim.softmax_regression_loss(W, b, F, y) + 0.5 * (W ** 2).sum()
    dW, db = optim.softmax_regression_grads(W, b, F, y)   # gradients of the mean CE
    return loss, np.concatenate([(C * n * dW + W).ravel(), C * n * db])


def _newton_probe(w, F, y, C, k, tol, maxiter=100):
    """Minimize _softmax_regression by Newton's method with a backtracking (Armijo) line search.

    The Hessian is C·n·(optim's Hessian of the mean CE) + I on W. Adding a constant to every
    bias changes nothing, so that direction u = [0, 1/√k, ...] has zero curvature and zero
    gradient; adding uuᵀ makes H positive definite without changing the step.
    """
    from scipy.linalg import solve
    n, d = F.shape
    f, g = _softmax_regression(w, F, y, C, k)
    for _ in range(maxiter):
        if np.abs(g).max() <= tol:
            break
        W, b = w[:d * k].reshape(d, k), w[d * k:]
        H = C * n * optim.softmax_regression_hessian(W, b, F)          # (p, p), p = (d+1)·k
        H[np.arange(d * k), np.arange(d * k)] += 1.0                   # the penalty ½‖W‖²
        H[d * k:, d * k:] += 1.0 / k                                   # + uuᵀ (see above)
        step, t = solve(H, g, assume_a="pos"), 1.0
        while True:                                                    # Armijo backtracking
            f_new, g_new = _softmax_regression(w - t * step, F, y, C, k)
            if f_new <= f - 1e-4 * t * (g @ step) or t < 1e-8:
                break
            t *= 0.5
        if f_new > f:                   # no decrease left at float64 precision: at the optimum
            break
        w, f, g = w - t * step, f_new, g_new
    return w


NEWTON_MAX_PARAMS = 400   # above this many parameters a Newton step (a p×p solve) costs more than L-BFGS


def linear_probe(F_train, y_train, F_test, y_test, C=1.0, tol=1e-8, init=None, solver="auto"):
    """Multinomial logistic regression on frozen features (same objective as sklearn's).

    solver: 'newton' (exact Hessian, line search: a few steps even when the features are badly
    conditioned), 'lbfgs' (scipy's L-BFGS-B, cheaper per step for many parameters), or 'auto'
    (Newton up to NEWTON_MAX_PARAMS = (d+1)·K parameters). Both stop when the largest gradient
    entry is below `tol` (L-BFGS also when the objective stops decreasing). init: optional
    (W, b) start (a warm start, e.g. the solution at a nearby C; the optimum is the same, it is
    convex). Returns (test accuracy, W (d, K), b (K,)); classes are np.unique(y_train).
    """
    from scipy.optimize import minimize
    F_train, F_test = finite_array("F_train", F_train), finite_array("F_test", F_test)
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if F_train.ndim != 2 or len(F_train) != len(y_train):
        raise ValueError(f"F_train must be (N, d) with N = len(y_train), got {F_train.shape}")
    if F_test.ndim != 2 or F_test.shape[1] != F_train.shape[1] or len(F_test) != len(y_test):
        raise ValueError(f"F_test must be (N_test, {F_train.shape[1]}), got {F_test.shape}")
    check_positive("C", C)
    check_positive("tol", tol)
    if solver not in ("auto", "newton", "lbfgs"):
        raise ValueError(f"solver must be 'auto', 'newton' or 'lbfgs', got {solver!r}")
    classes = np.unique(y_train)
    if len(classes) < 2:
        raise ValueError("y_train must hold at least 2 classes")
    y_idx = np.searchsorted(classes, y_train)              # class indices 0..K-1
    d, k = F_train.shape[1], len(classes)
    if solver == "auto":
        solver = "newton" if (d + 1) * k <= NEWTON_MAX_PARAMS else "lbfgs"
    with one_blas_thread():   # small matrices: threads only fight each other on a shared CPU
        w0 = np.zeros(d * k + k) if init is None else np.concatenate(
            [np.asarray(init[0], float).ravel(), np.asarray(init[1], float).ravel()])
        if w0.shape != (d * k + k,):
            raise ValueError(f"init must be (W ({d}, {k}), b ({k},)), got {w0.size} values")
        if solver == "newton":
            w = _newton_probe(w0, F_train, y_idx, C, k, tol)
        else:
            w = minimize(_softmax_regression, w0, args=(F_train, y_idx, C, k), jac=True,
                         method="L-BFGS-B",
                         options={"maxiter": 5000, "gtol": tol, "ftol": 1e-3 * tol}).x
    W, b = w[:d * k].reshape(d, k), w[d * k:]
    acc = float((classes[(F_test @ W + b).argmax(1)] == y_test).mean())
    return acc, W, b


def probe_sweep(F, y, subsets, val, test, Cs, tol=1e-8, warm_start=True, solver="auto"):
    """linear_probe on F[subset] for every C of `Cs` and every training subset.

    F (N, d) features of all examples; val, test: index arrays. Returns {'val', 'test', 'loss'}:
    (len(Cs), M) validation/test accuracy and training cross-entropy (unpenalized), and
    'params': [[(W, b)] per subset] per C.
    """
    F, y = finite_array("F", F), np.asarray(y)
    if F.ndim != 2 or len(F) != len(y):
        raise ValueError(f"F must be (N, d) with N = len(y), got {F.shape}")
    Cs = [check_positive("Cs", c) for c in Cs]
    out = {k: np.zeros((len(Cs), len(subsets))) for k in ("val", "test", "loss")}
    out["params"] = []
    for i, C in enumerate(Cs):
        out["params"].append([])
        for m, idx in enumerate(subsets):
            warm = out["params"][i - 1][m] if i > 0 and warm_start else None   # previous C's optimum
            out["test"][i, m], W, b = linear_probe(F[idx], y[idx], F[test], y[test], C=C, tol=tol,
                                                   init=warm, solver=solver)
            classes = np.unique(y[idx])
            out["val"][i, m] = (classes[(F[val] @ W + b).argmax(1)] == y[val]).mean()
            z = F[idx] @ W + b                                          # (n, K) logits
            z = z - z.max(1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(1, keepdims=True))
            out["loss"][i, m] = -logp[np.arange(len(idx)), np.searchsorted(classes, y[idx])].mean()
            out["params"][i].append((W, b))
    return out


# -- figures ---------------------------------------------------------------------------------------------
def _mean_err(acc):
    """Mean and standard error over the seed axis (last)."""
    acc = np.asarray(acc, float)
    return acc.mean(-1), acc.std(-1, ddof=1) / math.sqrt(acc.shape[-1]) if acc.shape[-1] > 1 else 0 * acc.mean(-1)


# Titles of the interactive figures sit at the top of their axes (y=1, where matplotlib's
# automatic placement puts them too, as no tick labels are on top): a fixed y saves measuring
# every tick label on each redraw to check for overlap (a fifth of the redraw time).
_TITLE_Y = 1.0


def draw_size_sweep(fig, labels_per_class, sweep, sizes, baseline=None, chance=None):
    """Left: test accuracy of each strategy vs labels per class. Right: bars at the chosen size.

    Meant for `interactive(..., clear=False)`: axes, curves and bars are built once; later
    moves only shift the marker line, the bars, their error bars and their labels.
    """
    names = list(sweep)
    stats = [_mean_err(sweep[s]) for s in names]
    k = int(np.argmin(np.abs(np.asarray(sizes) - labels_per_class)))
    art = plot.artists(fig, "size_sweep")
    if art is None:
        fig.clear()
        ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
        bars, labels = [], []
        for i, s in enumerate(names):
            mean, err = stats[i]
            ax.plot(sizes, mean, marker="o", ms=3, color=plot.COLORS[i], label=LABELS.get(s, s))
            bars.append(bx.barh(i, mean[k], xerr=err[k], color=plot.COLORS[i], capsize=2))
            labels.append(bx.text(0, i, "", va="center", fontsize=8))
        if baseline is not None:   # colours are named by the bar chart; only the baseline needs a label
            ax.plot(sizes, baseline, "k:", lw=1.2)
            ax.text(sizes[-1], baseline[-1] - 0.02, "logistic regr.\non pixels", ha="right",
                    va="top", fontsize=7)
        if chance is not None:
            ax.axhline(chance, color="0.6", lw=0.8)
            ax.text(sizes[-1], chance, "chance", ha="right", va="bottom", fontsize=7, color="0.4")
        marker = ax.axvline(sizes[k], color="0.5", lw=0.8, ls="--")
        ax.set(xscale="log", xlabel="labelled examples per class", ylabel="test accuracy",
               ylim=(0, 1), xticks=sizes, xticklabels=[str(s) for s in sizes])
        ax.minorticks_off()
        bx.set(yticks=range(len(names)),
               yticklabels=[LABELS.get(s, s).split(" (")[0] for s in names],
               xlim=(0, 1.12), xlabel="test accuracy (± s.e. over seeds)")
        bx.invert_yaxis()
        bx.tick_params(axis="y", labelsize=8)
        art = plot.keep_artists(fig, "size_sweep", bars=bars, labels=labels, marker=marker)
    ax, bx = fig.axes[:2]
    art["marker"].set_xdata([sizes[k], sizes[k]])
    for i, (container, label) in enumerate(zip(art["bars"], art["labels"])):
        m, e = float(stats[i][0][k]), float(stats[i][1][k])
        container.patches[0].set_width(m)
        _, caps, (segments,) = container.errorbar.lines
        segments.set_segments([[(m - e, i), (m + e, i)]])
        caps[0].set_data([m - e], [i])
        caps[1].set_data([m + e], [i])
        label.set_position((min(m + e, 1.0) + 0.01, i))
        label.set_text(f"{m:.2f}")
    order = np.argsort([-np.mean(sweep[s][k]) for s in names], kind="stable")
    first, second = names[order[0]], names[order[1]] if len(names) > 1 else None
    title = f"{sizes[k]}/class, best: {first}"
    if second is not None:                  # "best" only when the paired lead is >= 2 s.e.
        d = np.asarray(sweep[first][k], float) - np.asarray(sweep[second][k], float)
        se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else 0.0
        if not d.mean() >= 2 * se or d.mean() == 0:
            title = f"{sizes[k]}/class, tied: {first}, {second}"
    bx.set_title(title, y=_TITLE_Y)


def _filter_grid(W, n):
    """Tile the first n rows of W into one image, 4 per row; a row of d = s² entries is an s×s
    image (otherwise a 1×d strip). Each filter is scaled to [-1, 1]."""
    d = W.shape[1]
    h = w = math.isqrt(d)
    if h * w != d:
        h, w = 1, d
    cols = 4
    rows = math.ceil(n / cols)
    grid = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for i in range(n):
        r, c = divmod(i, cols)
        img = W[i].reshape(h, w)
        grid[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = img / (np.abs(img).max() + 1e-12)
    return grid


def draw_layer_explorer(fig, strategy, step, explorer, n_filters=8):
    """Relative weight change per layer after `step` fine-tuning steps, and first-layer filters.

    Meant for `interactive(..., clear=False)`: axes, curves, images and notes are built once;
    later moves give them new data, limits and text (and show or hide the notes).
    """
    data = explorer[strategy]
    steps = sorted(data["change"])
    t = min(steps, key=lambda s: abs(s - step))
    groups = list(data["change"][t])
    art = plot.artists(fig, "layer_explorer")
    if art is not None and art["groups"] != groups:   # another network: build afresh
        art = None
    if art is None:
        fig.clear()
        ax, bx, cx = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.2, 1, 1]})
        curves, dots = [], []
        for i, g in enumerate(groups):
            curves.append(ax.plot([], [], color=plot.COLORS[i], label=g)[0])
            dots.append(ax.plot([], [], "o", color=plot.COLORS[i])[0])
        marker = ax.axvline(t, color="0.5", lw=0.8, ls="--")
        ax.set(xlabel="fine-tuning step", ylabel="‖ΔW‖ / ‖W₀‖")
        ax.legend(fontsize=8, loc="upper left")
        plot.message(ax, "step 0: nothing has moved yet")
        message = ax.texts[-1]
        note = ax.text(0, 0, "", ha="right", va="bottom", fontsize=8, color="0.3")
        W0 = data["fc1"][0][:n_filters]
        before = bx.imshow(_filter_grid(W0, n_filters), cmap="RdBu_r", vmin=-1, vmax=1)
        bx.set_title("fc1 filters at step 0", fontsize=9, y=_TITLE_Y)
        after = cx.imshow(_filter_grid(W0, n_filters), cmap="RdBu_r", vmin=-1, vmax=1)
        cx.set_title(" ", fontsize=9)
        for a in (bx, cx):
            a.set_axis_off()
        art = plot.keep_artists(fig, "layer_explorer", groups=groups, curves=curves, dots=dots,
                                marker=marker, message=message, note=note, before=before,
                                after=after)
    ax, bx, cx = fig.axes[:3]
    means = {g: np.array([np.mean(data["change"][s][g]) for s in steps]) for g in groups}
    for g, curve, dot in zip(groups, art["curves"], art["dots"]):
        curve.set_data(steps, means[g])
        dot.set_data([t], [np.mean(data["change"][t][g])])
    art["marker"].set_xdata([t, t])
    top = max(max(float(means[g].max()) for g in groups), 1e-3)
    ax.relim()                  # x limits as autoscale gives them (y limits are set below)
    ax.autoscale_view(scaley=False)
    ax.set_ylim(0, 1.1 * top)
    ax.set_title(LABELS[strategy].split(" (")[0], y=_TITLE_Y)
    art["message"].set_visible(t == 0)
    frozen = [g for g in groups if np.all(data["change"][t][g] == 0)]
    art["note"].set_visible(bool(t > 0 and frozen))
    art["note"].set_position((t, 0.02 * top))
    art["note"].set_text(", ".join(frozen) + " frozen: no change" if t > 0 and frozen else "")
    art["before"].set_data(_filter_grid(data["fc1"][0][:n_filters], n_filters))
    art["after"].set_data(_filter_grid(data["fc1"][t][:n_filters], n_filters))
    cx.set_title(f"fc1 filters at step {t}", fontsize=9, y=_TITLE_Y)



def draw_discriminative(fig, decay, disc, sizes):
    """Test accuracy vs labels per class for each layer-wise decay; the chosen one highlighted.

    Meant for `interactive(..., clear=False)`: every curve is built once; later moves restyle
    them (highlight, grey), move the marker line and change the title.
    """
    decays = sorted(disc)
    art = plot.artists(fig, "discriminative")
    if art is None:
        fig.clear()
        ax, bx = fig.subplots(1, 2)
        curves = [ax.plot(sizes, _mean_err(disc[d])[0], ms=3)[0] for d in decays]
        ax.set(xscale="log", xlabel="labelled examples per class", ylabel="test accuracy",
               ylim=(0, 1), xticks=sizes, xticklabels=[str(s) for s in sizes])
        ax.minorticks_off()
        for j, k in enumerate(sizes):
            curve = [np.mean(disc[d][j]) for d in decays]
            bx.plot(range(len(decays)), curve, marker=".", color=plot.COLORS[j % len(plot.COLORS)],
                    label=f"{k}/class")
        marker = bx.axvline(0, color="0.5", ls="--", lw=0.8)
        bx.set(xticks=range(len(decays)), xticklabels=[f"{d:g}" for d in decays], ylim=(0, 1),
               xlabel="decay (body lr = head lr × decay^depth)", ylabel="test accuracy")
        bx.legend(fontsize=7, ncol=2, loc="lower center")
        art = plot.keep_artists(fig, "discriminative", curves=curves, marker=marker)
    ax, bx = fig.axes[:2]
    for d, line in zip(decays, art["curves"]):
        chosen = np.isclose(d, decay)
        line.set_color(plot.COLORS[1] if chosen else "0.75")
        line.set_linewidth(2.4 if chosen else 1)
        line.set_marker("o" if chosen else "None")
        line.set_zorder(3 if chosen else 1)
    x = decays.index(min(decays, key=lambda d: abs(d - decay)))
    art["marker"].set_xdata([x, x])
    ax.set_title({0: "decay 0 = feature extraction", 1: "decay 1 = full fine-tuning"}.get(
        decay, f"decay {decay:g}") + " (grey: others)", y=_TITLE_Y)


def plot_examples(rows, titles, side=12, n=8):
    """One row of n images (each a side×side flattened vector) per array in `rows`."""
    fig, axes = plot.figure(len(rows), n, figsize=(0.8 * n, 0.9 * len(rows) + 0.2))
    axes = np.atleast_2d(axes)
    for r, (X, title) in enumerate(zip(rows, titles)):
        for i in range(n):
            axes[r, i].imshow(np.asarray(X[i]).reshape(side, side), cmap="gray_r", vmin=0, vmax=1)
            axes[r, i].set_axis_off()
        axes[r, 0].set_title(title, fontsize=9, loc="left")
    return fig


def plot_probes(probes, layers):
    """Grouped bars: linear-probe test accuracy of each layer's features, one colour per network."""
    fig, ax = plot.figure(figsize=(7.5, 2.8))
    width = 0.8 / len(probes)
    for i, (name, accs) in enumerate(probes.items()):
        xs = np.arange(len(layers)) + (i - (len(probes) - 1) / 2) * width
        ax.bar(xs, accs, width=width, color=plot.COLORS[i], label=name)
        for x, a in zip(xs, accs):
            ax.text(x, a + 0.01, f"{a:.2f}", ha="center", fontsize=7)
    ax.set(xticks=range(len(layers)), xticklabels=layers, ylim=(0, 1.1),
           ylabel="linear-probe test accuracy")
    ax.legend(fontsize=8, loc="upper left", ncol=2)
    return fig
