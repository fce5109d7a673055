"""dlbook.gradflow against PyTorch (float64): gradient clipping, deep-MLP gradient flow, figures."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from dlbook import gradflow

TOL = dict(rtol=1e-10, atol=1e-10)
pytestmark = pytest.mark.usefixtures("torch_float64")   # torch layers built here are float64


# -- gradient clipping -------------------------------------------------------------------------
grad_lists = st.lists(st.tuples(st.integers(1, 4), st.integers(1, 4)), min_size=1, max_size=4)


@settings(max_examples=50, deadline=None)
@given(shapes=grad_lists, seed=st.integers(0, 10_000), max_norm=st.floats(1e-3, 1e3),
       norm_type=st.sampled_from([1.0, 2.0, 3.0, math.inf]))
def test_clip_grad_norm_matches_torch(shapes, seed, max_norm, norm_type):
    rng = np.random.default_rng(seed)
    grads = [rng.normal(scale=rng.uniform(0.01, 10), size=s) for s in shapes]
    params = [torch.zeros(s, requires_grad=True) for s in shapes]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g)
    ref_norm = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    clipped, total = gradflow.clip_grad_norm(grads, max_norm, norm_type=norm_type)
    assert total == pytest.approx(float(ref_norm), rel=1e-12)
    for c, p in zip(clipped, params):
        np.testing.assert_allclose(c, p.grad.numpy(), **TOL)


def test_clip_grad_norm_eps_detail():
    """A gradient whose norm equals max_norm is still scaled, by max_norm / (max_norm + 1e-6)."""
    g = np.array([3.0, 4.0])                           # norm 5
    p = torch.zeros(2, requires_grad=True)
    p.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_norm_([p], 5.0)
    (ours,), total = gradflow.clip_grad_norm([g], 5.0)
    assert total == 5.0
    np.testing.assert_allclose(ours, g * 5.0 / (5.0 + 1e-6), rtol=1e-14)
    np.testing.assert_allclose(p.grad.numpy(), ours, rtol=1e-14)
    assert not np.array_equal(ours, g)
    (no_eps,), _ = gradflow.clip_grad_norm([g], 5.0, eps=0.0)
    np.testing.assert_array_equal(no_eps, g)
    (below,), _ = gradflow.clip_grad_norm([g], 6.0)       # below the threshold: untouched
    np.testing.assert_array_equal(below, g)


@settings(max_examples=30, deadline=None)
@given(shapes=grad_lists, seed=st.integers(0, 10_000), clip_value=st.floats(1e-3, 10))
def test_clip_grad_value_matches_torch(shapes, seed, clip_value):
    rng = np.random.default_rng(seed)
    grads = [rng.normal(scale=3.0, size=s) for s in shapes]
    params = [torch.zeros(s, requires_grad=True) for s in shapes]
    for p, g in zip(params, grads):
        p.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(params, clip_value)
    for c, p in zip(gradflow.clip_grad_value(grads, clip_value), params):
        np.testing.assert_allclose(c, p.grad.numpy(), **TOL)


def test_clipping_bad_input():
    with pytest.raises(ValueError, match="max_norm"):
        gradflow.clip_grad_norm([np.ones(2)], 0.0)
    with pytest.raises(ValueError, match="max_norm"):
        gradflow.clip_grad_norm([np.ones(2)], -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        gradflow.clip_grad_norm([np.ones(2)], 1.0, norm_type=0)
    with pytest.raises(ValueError, match="eps"):
        gradflow.clip_grad_norm([np.ones(2)], 1.0, eps=-1)
    with pytest.raises(ValueError, match="clip_value"):
        gradflow.clip_grad_value([np.ones(2)], 0)
    with pytest.raises(ValueError, match="grads"):
        gradflow.clip_grad_norm([], 1.0)


# -- deep MLPs and gradient flow ------------------------------------------------------------------
def test_deep_mlp_and_gradient_flow():
    rng = np.random.default_rng(7)
    X, y = rng.normal(size=(64, 5)), rng.integers(0, 3, 64)
    for arch in gradflow.ARCHITECTURES:
        net = gradflow.deep_mlp(5, 3, 4, width=8, arch=arch).double()
        assert net(torch.tensor(X)).shape == (64, 3)
    r = gradflow.gradient_flow(X, y, depth=6, arch="plain", activation="sigmoid", steps=2, batch_size=32)
    assert r["init"].shape == (6,) and r["init"][0] < r["init"][-1]   # vanishing toward the input
    with pytest.raises(ValueError, match="arch"):
        gradflow.deep_mlp(5, 3, 4, arch="dense")
    with pytest.raises(ValueError, match="depth"):
        gradflow.deep_mlp(5, 3, 0)
    with pytest.raises(ValueError, match="activation"):
        gradflow.deep_mlp(5, 3, 2, activation="softmax")


def test_train_with_clipping_bounds_the_update():
    rng = np.random.default_rng(8)
    X, y = rng.normal(size=(64, 5)), rng.integers(0, 3, 64)
    r = gradflow.train_with_clipping(X, y, max_norm=0.5, depth=3, steps=3, batch_size=16)
    assert len(r["loss"]) == 3 and np.all(r["norm"] > 0)
    with pytest.raises(ValueError, match="max_norm"):
        gradflow.train_with_clipping(X, y, max_norm=-1.0)


def test_inline_notebook_clipping_equals_dlbook():
    """The notebook's inline clip-by-norm (norm of all grads as one vector, one factor)."""
    rng = np.random.default_rng(9)
    grads = [rng.normal(size=(3, 2)), 10 * rng.normal(size=4)]
    for max_norm in (0.5, 5.0, 500.0):
        total = np.sqrt(sum((g ** 2).sum() for g in grads))
        coef = min(max_norm / (total + 1e-6), 1.0)
        inline = [g * coef for g in grads]
        ours, ours_total = gradflow.clip_grad_norm(grads, max_norm)
        assert ours_total == pytest.approx(total, rel=1e-14)
        for a, b in zip(inline, ours):
            np.testing.assert_allclose(a, b, rtol=1e-14, atol=0)


# -- the chapter's interactive figures (persistent artists, clear=False) -------------------------
def _flow_results(depths=(8, 16, 32, 48)):
    """Small synthetic `gradient_flow` outputs: healthy, diverged and underflowing runs."""
    rng = np.random.default_rng(10)
    results = {}
    for depth in depths:
        for k, arch in enumerate(gradflow.ARCHITECTURES):
            for act in ("relu", "sigmoid"):
                g = np.exp(rng.normal(-3, 2, depth))
                r = {"init": g, "trained": g * 2, "loss": np.linspace(2.3, 1.0, 11),
                     "diverged_at": None}
                if arch == "plain" and act == "relu":          # explodes, then not finite
                    r.update(trained=np.full(depth, np.nan), diverged_at=3,
                             loss=np.array([2.3, 50.0, 1e6]))
                if arch == "plain" and act == "sigmoid":       # vanishes to exactly 0
                    r["init"] = np.where(np.arange(depth) < 2, 0.0, g)
                results[(depth, arch, act)] = r
    return results


def _clip_runs(grid=(0.01, 0.1, 1.0, 10.0, 300.0)):
    rng = np.random.default_rng(11)
    norms = np.exp(rng.normal(1, 2, 60))
    runs = {m: {"norm": norms, "loss": np.exp(rng.normal(0, 0.5, 60)), "diverged_at": None}
            for m in grid}
    runs[None] = {"norm": norms[:5], "loss": np.array([2.3, 9.0, 80.0, 900.0, 5e3]),
                  "diverged_at": 5}
    return runs, list(grid)


@pytest.mark.parametrize("name", ["flow", "clip"])
def test_interactive_figures_render_every_static_frame(name, persistent_frames_match):
    from dlbook import widgets
    flow = _flow_results()
    runs, grid = _clip_runs()
    make = {
        "flow": lambda clear: widgets.interactive(
            lambda fig, depth, arch, activation: gradflow.draw_gradient_flow(fig, flow, depth, arch,
                                                                             activation),
            clear=clear, depth=widgets.IntSlider(8, 48, value=24, step=8, static=[8, 16, 32, 48]),
            arch=widgets.Dropdown(gradflow.ARCHITECTURES, value="plain"),
            activation=widgets.Dropdown(["relu", "sigmoid"], value="sigmoid"), figsize=(8.5, 3.3)),
        "clip": lambda clear: widgets.interactive(
            lambda fig, max_norm: gradflow.draw_clipping(fig, max_norm, runs), clear=clear,
            max_norm=widgets.LogSlider(0.01, 300, value=10.0, static=grid), figsize=(8.5, 3.4)),
    }
    persistent_frames_match(make[name])


def test_gradient_flow_figure_messages():
    from matplotlib.figure import Figure
    flow = _flow_results(depths=(8,))
    fig = Figure()
    gradflow.draw_gradient_flow(fig, flow, 8, "plain", "relu")     # diverged run
    texts = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_visible()]
    assert any("diverged" in t for t in texts)
    gradflow.draw_gradient_flow(fig, flow, 8, "plain", "sigmoid")  # same axes, new messages
    texts = [t.get_text() for ax in fig.axes for t in ax.texts if t.get_visible()]
    assert any("underflow" in t for t in texts) and not any("diverged" in t for t in texts)
    gradflow.draw_gradient_flow(fig, flow, 16, "plain", "relu")    # no such run: a message
    assert "no precomputed run" in fig.axes[0].texts[0].get_text()
    gradflow.draw_gradient_flow(fig, flow, 8, "residual", "relu")  # and back to a normal frame
    assert len(fig.axes) == 2 and fig.axes[0].get_legend() is not None


def test_init_mlp_matches_gradient_flow_network_and_dtype():
    net = gradflow.init_mlp(5, 3, 4, "plain", "sigmoid", width=8, seed=3)
    ref = gradflow.deep_mlp(5, 3, 4, 8, "plain", "sigmoid").double()
    from dlbook import init
    init.apply_init(ref, "xavier normal", rng=3)
    for a, b in zip(net.parameters(), ref.parameters()):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    assert gradflow.init_mlp(5, 3, 2, dtype="float32").out.weight.dtype == torch.float32
    with pytest.raises(ValueError, match="dtype"):
        gradflow.init_mlp(5, 3, 2, dtype="float16")


def _last_hidden(net, X, training):
    import copy
    net = copy.deepcopy(net).train(training)
    seen = {}
    net.out.register_forward_hook(lambda m, i, o: seen.setdefault("h", i[0].detach().numpy()))
    net(torch.tensor(X))
    h = seen["h"]
    cos = (h @ h.T) / np.outer(np.linalg.norm(h, axis=1), np.linalg.norm(h, axis=1))
    return cos[~np.eye(len(X), dtype=bool)].mean()               # mean over distinct pairs


def test_hidden_cosine_matches_direct_computation():
    rng = np.random.default_rng(10)
    X = rng.normal(size=(30, 5))
    net = gradflow.init_mlp(5, 3, 3, "residual+norm", "relu", width=8)
    net.eval()
    before = [b.running_mean.clone() for b in net.norms]
    # default: BN with batch statistics (training mode); eval: running statistics
    assert math.isclose(gradflow.hidden_cosine(net, X), _last_hidden(net, X, True), rel_tol=1e-12)
    assert math.isclose(gradflow.hidden_cosine(net, X, mode="eval"), _last_hidden(net, X, False),
                        rel_tol=1e-12)
    assert not math.isclose(gradflow.hidden_cosine(net, X), gradflow.hidden_cosine(net, X, mode="eval"),
                            rel_tol=1e-3)                        # the two modes differ with BN
    assert not net.training                                       # mode left alone
    for b, m in zip(net.norms, before):                           # running statistics untouched
        torch.testing.assert_close(b.running_mean, m, rtol=0, atol=0)
    # at init, eval-mode BN (running mean 0, var 1) is x / sqrt(1 + eps): the net without BN
    no_bn = gradflow.init_mlp(5, 3, 3, "residual", "relu", width=8)
    assert math.isclose(gradflow.hidden_cosine(net, X, mode="eval"), gradflow.hidden_cosine(no_bn, X),
                        rel_tol=1e-4)
    # a bias-free ReLU net is positively homogeneous: inputs along one direction stay aligned
    same = np.tile(X[:1], (4, 1)) * np.arange(1, 5)[:, None]      # one direction, four lengths
    plain = gradflow.init_mlp(5, 3, 3, "plain", "relu", width=8)
    assert math.isclose(gradflow.hidden_cosine(plain, same), 1.0, rel_tol=1e-12)
    with pytest.raises(ValueError, match="X"):
        gradflow.hidden_cosine(net, X[:1])
    with pytest.raises(ValueError, match="mode"):
        gradflow.hidden_cosine(net, X, mode="test")
