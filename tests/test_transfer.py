"""Tests for dlbook.transfer: freezing, layer-wise learning rates, stacked training, probes."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from sklearn.linear_model import LogisticRegression

from dlbook import transfer as tl

SIZES = [12, 7, 5, 3]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny nets: one torch thread is faster on a shared 2-core machine."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _data(seed, n=30, d=12, k=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), rng.integers(0, k, n)


# -- networks and freezing ------------------------------------------------------------------------
def test_named_mlp_matches_torch_sequential_of_linears():
    torch.manual_seed(0)
    net = tl.named_mlp(SIZES).double()
    assert tl.layer_groups(net) == ["fc1", "fc2", "head"]
    ref = torch.nn.Sequential(torch.nn.Linear(12, 7), torch.nn.ReLU(), torch.nn.Linear(7, 5),
                              torch.nn.ReLU(), torch.nn.Linear(5, 3)).double()
    ref.load_state_dict({k: v for k, v in zip(ref.state_dict(), net.state_dict().values())})
    x = torch.randn(9, 12, dtype=torch.float64)
    assert torch.allclose(net(x), ref(x), atol=1e-12)


def test_frozen_params_get_no_gradient_and_do_not_move():
    torch.manual_seed(1)
    net = tl.named_mlp(SIZES).double()
    tl.freeze(net, ["fc1", "fc2"])
    assert tl.trainable_names(net) == ["head.weight", "head.bias"]
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    opt = torch.optim.AdamW(net.parameters(), lr=0.1, weight_decay=0.5)  # decay would move them
    X, y = _data(1)
    loss = torch.nn.functional.cross_entropy(net(torch.tensor(X)), torch.tensor(y))
    loss.backward()
    for n, p in net.named_parameters():
        assert (p.grad is None) == n.startswith(("fc1", "fc2"))
    opt.step()
    for n, p in net.named_parameters():
        same = torch.equal(p, before[n])
        assert same == n.startswith(("fc1", "fc2")), n


def test_unfreeze_and_freeze_all_but():
    net = tl.named_mlp(SIZES)
    tl.freeze_all_but(net, "head")
    assert tl.trainable_names(net) == ["head.weight", "head.bias"]
    tl.unfreeze(net, "fc2")
    assert tl.trainable_names(net) == ["fc2.weight", "fc2.bias", "head.weight", "head.bias"]


def test_prefix_is_a_whole_layer_name_not_a_substring():
    import torch.nn as nn
    from collections import OrderedDict
    net = nn.Sequential(OrderedDict(fc1=nn.Linear(2, 2), fc10=nn.Linear(2, 2)))
    tl.freeze(net, "fc1")
    assert tl.trainable_names(net) == ["fc10.weight", "fc10.bias"]


def test_unknown_prefix_raises():
    net = tl.named_mlp(SIZES)
    with pytest.raises(ValueError, match="prefixes"):
        tl.freeze(net, ["conv1"])
    with pytest.raises(ValueError, match="lrs"):
        tl.param_groups(net, {"fc9": 0.1})


# -- layer-wise learning rates -------------------------------------------------------------------
@given(lr=st.floats(1e-5, 1.0), decay=st.floats(0.0, 1.0), n=st.integers(1, 6))
def test_layerwise_lrs_formula(lr, decay, n):
    groups = [f"g{i}" for i in range(n)]
    lrs = tl.layerwise_lrs(groups, lr, decay)
    assert list(lrs) == groups
    for i, g in enumerate(groups):
        assert np.isclose(lrs[g], lr * decay ** (n - 1 - i), rtol=1e-12, atol=0)
    assert lrs[groups[-1]] == lr


def test_layerwise_lrs_bad_input():
    with pytest.raises(ValueError, match="lr"):
        tl.layerwise_lrs(["a"], -1.0, 0.5)
    with pytest.raises(ValueError, match="decay"):
        tl.layerwise_lrs(["a"], 0.1, 1.5)
    with pytest.raises(ValueError, match="groups"):
        tl.layerwise_lrs([], 0.1, 0.5)


def test_param_groups_match_torch_optimizer_param_groups():
    net = tl.named_mlp(SIZES)
    tl.freeze(net, "fc1")
    lrs = {"fc1": 1e-4, "fc2": 1e-3, "head": 1e-2}
    opt = torch.optim.Adam(tl.param_groups(net, lrs))
    got = {g["name"]: (g["lr"], {id(p) for p in g["params"]}) for g in opt.param_groups}
    assert set(got) == {"fc2", "head"}                      # frozen fc1 left out
    for name in ("fc2", "head"):
        layer = getattr(net, name)
        assert got[name] == (lrs[name], {id(layer.weight), id(layer.bias)})
    opt_all = torch.optim.Adam(tl.param_groups(net, lrs, include_frozen=True))
    assert [g["name"] for g in opt_all.param_groups] == ["fc1", "fc2", "head"]


def test_param_groups_step_equals_separate_sgd_steps():
    # one SGD step with layer-wise lrs == w - lr_layer * grad for every layer
    torch.manual_seed(2)
    net = tl.named_mlp(SIZES).double()
    lrs = tl.layerwise_lrs(tl.layer_groups(net), 0.5, 0.1)
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    X, y = _data(2)
    torch.nn.functional.cross_entropy(net(torch.tensor(X)), torch.tensor(y)).backward()
    torch.optim.SGD(tl.param_groups(net, lrs)).step()
    for n, p in net.named_parameters():
        expected = before[n] - lrs[n.split(".")[0]] * p.grad
        assert torch.allclose(p, expected, atol=1e-14)


def test_param_groups_rejects_uncovered_trainable_and_overlap():
    net = tl.named_mlp(SIZES)
    with pytest.raises(ValueError, match="lrs"):
        tl.param_groups(net, {"head": 0.1})                 # fc1, fc2 trainable but no lr
    with pytest.raises(ValueError, match="lrs"):
        tl.param_groups(net, {"fc1": 0.1, "fc2": -1.0, "head": 0.1})
    with pytest.raises(ValueError, match="lrs"):
        tl.param_groups(net, [0.1])


def test_inline_notebook_param_groups_equal_dlbook():
    # the snippet the notebook builds inline
    net = tl.named_mlp(SIZES)
    lr, decay, names = 1e-2, 0.3, ["fc1", "fc2", "head"]
    inline = [{"params": list(getattr(net, name).parameters()), "lr": lr * decay ** (len(names) - 1 - i)}
              for i, name in enumerate(names)]
    ours = tl.param_groups(net, tl.layerwise_lrs(names, lr, decay))
    assert len(inline) == len(ours)
    for a, b in zip(inline, ours):
        assert np.isclose(a["lr"], b["lr"]) and [id(p) for p in a["params"]] == [id(p) for p in b["params"]]


@given(n_groups=st.integers(1, 5), extra=st.integers(0, 50))
def test_unfreezing_schedule_unfreezes_top_down(n_groups, extra):
    groups = [f"g{i}" for i in range(n_groups)]
    num_steps = n_groups + extra
    sched = tl.unfreezing_schedule(groups, num_steps)
    starts = [s for s, _ in sched]
    assert starts[0] == 0 and starts == sorted(set(starts)) and starts[-1] < num_steps
    for stage, (_, trainable) in enumerate(sched):
        assert trainable == groups[n_groups - 1 - stage:]
    with pytest.raises(ValueError, match="num_steps"):
        tl.unfreezing_schedule(groups, n_groups - 1)


# -- stacked training ---------------------------------------------------------------------------------
def test_stacked_mlp_equals_separate_mlps_forward():
    torch.manual_seed(3)
    stack = tl.stacked_mlp(SIZES, 4).double()
    x = torch.randn(4, 6, 12, dtype=torch.float64)
    out = stack(x)
    for m in range(4):
        net = tl.named_mlp(SIZES).double()
        with torch.no_grad():
            for (n, p), (_, q) in zip(net.named_parameters(), stack.named_parameters()):
                p.copy_(q[m].reshape(p.shape))
        assert torch.allclose(net(x[m]), out[m], atol=1e-12)


def test_stacked_training_equals_separate_adam_runs():
    """Training M stacked models with a summed loss == M separate Adam runs (grads don't mix)."""
    torch.manual_seed(4)
    X, y = _data(4, n=40)
    subsets = [np.arange(0, 6), np.arange(6, 20), np.arange(20, 40)]
    stack = tl.stacked_mlp(SIZES, 3).double()
    nets = []
    for m in range(3):
        net = tl.named_mlp(SIZES).double()
        with torch.no_grad():
            for (_, p), (_, q) in zip(net.named_parameters(), stack.named_parameters()):
                p.copy_(q[m].reshape(p.shape))
        nets.append(net)
    Xs, ys, mask = tl.stack_data(X, y, subsets)
    tl.train_stack(stack, Xs.double(), ys, mask.double(), num_steps=15,
                   lrs={"fc1": 1e-3, "fc2": 1e-2, "head": 3e-2}, progress=False)
    for m, net in enumerate(nets):
        opt = torch.optim.Adam(tl.param_groups(net, {"fc1": 1e-3, "fc2": 1e-2, "head": 3e-2}))
        Xm, ym = torch.tensor(X[subsets[m]]), torch.tensor(y[subsets[m]])
        for _ in range(15):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(Xm), ym).backward()
            opt.step()
        for (n, p), (_, q) in zip(net.named_parameters(), stack.named_parameters()):
            assert torch.allclose(p, q[m].reshape(p.shape), atol=1e-10), n


def test_sample_batch_draws_only_real_examples():
    mask = torch.zeros(3, 10)
    mask[0, :2], mask[1, :6], mask[2, :10] = 1, 1, 1            # 2, 6 and 10 real examples
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        idx = tl.sample_batch(mask, 4, gen)
        assert idx.shape == (3, 4)
        for m, n in enumerate([2, 6, 10]):
            real = sorted(i for i in idx[m].tolist() if i < n)
            assert len(set(idx[m].tolist())) == 4
            assert real == sorted(set(real)) and len(real) == min(n, 4)
    assert sorted(tl.sample_batch(mask, 4, gen)[0, :2].tolist()) == [0, 1]   # all of model 0
    with pytest.raises(ValueError, match="batch_size"):
        tl.sample_batch(mask, 0)


def test_minibatch_training_with_big_batch_equals_full_batch():
    X, y = _data(11, n=40)
    subsets = [np.arange(0, 10), np.arange(10, 40)]
    pre = tl.named_mlp(SIZES)
    a, _, net_a = tl.run_strategy("full", pre, SIZES, X, y, subsets, X, y, num_steps=10, progress=False)
    b, _, net_b = tl.run_strategy("full", pre, SIZES, X, y, subsets, X, y, num_steps=10,
                                  batch_size=30, progress=False)
    c, _, net_c = tl.run_strategy("full", pre, SIZES, X, y, subsets, X, y, num_steps=10,
                                  batch_size=8, progress=False)
    assert torch.equal(net_a.fc1.weight, net_b.fc1.weight)
    assert not torch.allclose(net_a.fc1.weight, net_c.fc1.weight)


def test_load_body_copies_all_but_head():
    torch.manual_seed(5)
    net = tl.named_mlp(SIZES)
    stack = tl.stacked_mlp(SIZES, 3)
    head_before = stack.head.weight.detach().clone()
    tl.load_body(stack, net)
    for m in range(3):
        assert torch.equal(stack.fc1.weight[m], net.fc1.weight)
        assert torch.equal(stack.fc2.bias[m, 0], net.fc2.bias)
    assert torch.equal(stack.head.weight, head_before)


def test_progressive_schedule_leaves_lower_layers_untouched_until_their_stage():
    torch.manual_seed(6)
    X, y = _data(6)
    stack = tl.stacked_mlp(SIZES, 2)
    Xs, ys, mask = tl.stack_data(X, y, [np.arange(10), np.arange(10, 30)])
    groups = tl.layer_groups(stack)
    sched = tl.unfreezing_schedule(groups, 9)               # stages start at 0, 3, 6
    lrs = {g: 1e-2 for g in groups}
    hist = tl.train_stack(stack, Xs, ys, mask, num_steps=9, lrs=lrs, schedule=sched,
                          snapshot_every=1, progress=False)
    snaps = hist["snapshots"]
    assert np.array_equal(snaps[0]["fc1.weight"], snaps[6]["fc1.weight"])
    assert not np.array_equal(snaps[6]["fc1.weight"], snaps[7]["fc1.weight"])
    assert np.array_equal(snaps[0]["fc2.weight"], snaps[3]["fc2.weight"])
    assert not np.array_equal(snaps[3]["fc2.weight"], snaps[4]["fc2.weight"])
    assert not np.array_equal(snaps[0]["head.weight"], snaps[1]["head.weight"])


def test_strategy_setup():
    groups = ["fc1", "fc2", "head"]
    assert tl.strategy_setup("features", groups, 0.1)[0] == ["head"]
    assert tl.strategy_setup("last", groups, 0.1)[0] == ["fc2", "head"]
    assert tl.strategy_setup("discriminative", groups, 0.1, decay=0.5)[1] == {
        "fc1": 0.025, "fc2": 0.05, "head": 0.1}
    assert tl.strategy_setup("progressive", groups, 0.1, num_steps=30)[2] == [
        (0, ["head"]), (10, ["fc2", "head"]), (20, ["fc1", "fc2", "head"])]
    with pytest.raises(ValueError, match="strategy"):
        tl.strategy_setup("lora", groups, 0.1)


def test_discriminative_with_zero_decay_equals_feature_extraction():
    X, y = _data(7, n=40)
    subsets = [np.arange(15), np.arange(15, 40)]
    pre = tl.named_mlp(SIZES)
    a, _, net_a = tl.run_strategy("features", pre, SIZES, X, y, subsets, X, y, num_steps=20,
                                  progress=False)
    b, _, net_b = tl.run_strategy("discriminative", pre, SIZES, X, y, subsets, X, y, decay=0.0,
                                  num_steps=20, progress=False)
    for (n, p), (_, q) in zip(net_a.named_parameters(), net_b.named_parameters()):
        assert torch.equal(p, q), n          # bit-identical, as the chapter says
    assert np.array_equal(a, b)


# -- measurements ----------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(m=st.integers(1, 4), d_out=st.integers(1, 6), d_in=st.integers(1, 6), seed=st.integers(0, 999))
def test_relative_change_vs_torch_norm(m, d_out, d_in, seed):
    rng = np.random.default_rng(seed)
    W0, W1 = rng.normal(size=(m, d_out, d_in)), rng.normal(size=(m, d_out, d_in))
    got = tl.relative_change({"a.weight": W0}, {"a.weight": W1})["a"]
    t0, t1 = torch.tensor(W0), torch.tensor(W1)
    ref = torch.linalg.matrix_norm(t1 - t0) / torch.linalg.matrix_norm(t0)
    assert np.allclose(got, ref.numpy(), rtol=1e-12)
    single = tl.relative_change({"a.weight": W0[0]}, {"a.weight": W1[0]})["a"]
    assert np.isclose(single, ref[0].item(), rtol=1e-12)


def test_relative_change_bad_input():
    with pytest.raises(ValueError, match="groups"):
        tl.relative_change({"a.weight": np.ones((2, 2))}, {"a.weight": np.ones((2, 2))}, ["b"])
    with pytest.raises(ValueError, match="shape"):
        tl.relative_change({"a.weight": np.ones((2, 2))}, {"a.weight": np.ones((2, 3))})


@settings(max_examples=15, deadline=None)
@given(n=st.integers(20, 80), d=st.integers(2, 8), k=st.integers(2, 4), C=st.sampled_from([0.1, 1.0, 10.0]),
       seed=st.integers(0, 999))
def test_linear_probe_matches_sklearn(n, d, k, C, seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(scale=2.0, size=(k, d))
    y = np.concatenate([np.arange(k), rng.integers(0, k, n - k)])
    F = centers[y] + rng.normal(size=(n, d))
    y_test = rng.integers(0, k, 50)
    F_test = centers[y_test] + rng.normal(size=(50, d))
    ref = LogisticRegression(C=C, tol=1e-12, max_iter=20000).fit(F, y)
    for solver in ("newton", "lbfgs"):
        acc, W, b = tl.linear_probe(F, y, F_test, y_test, C=C, tol=1e-10, solver=solver)
        assert abs(acc - ref.score(F_test, y_test)) <= 0.02 + 1e-12
        if k > 2:  # same multinomial objective -> same optimum (coef_ is (K, d)); binary sklearn
            # uses one weight vector instead of two, a different parametrization and penalty
            assert np.allclose(W.T, ref.coef_, atol=2e-4)
            assert np.allclose(b, ref.intercept_, atol=2e-4)


def _probe_gradient(F, y, W, b, C):
    """Gradient of C·Σ CE + ½‖W‖² at (W, b) by torch autograd (float64)."""
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    loss = C * torch.nn.functional.cross_entropy(torch.tensor(F) @ Wt + bt, torch.tensor(y),
                                                 reduction="sum") + 0.5 * (Wt ** 2).sum()
    loss.backward()
    return np.concatenate([Wt.grad.numpy().ravel(), bt.grad.numpy()])


@pytest.mark.parametrize("C", [0.1, 10.0])
def test_newton_probe_converges_on_badly_conditioned_relu_features(C):
    # ReLU features like a trained layer's: dead units, a duplicated column, scales 1e-2..10
    rng = np.random.default_rng(5)
    n, d, k = 60, 16, 4
    F = np.maximum(rng.normal(size=(n, d)) @ rng.normal(size=(d, d)), 0.0)
    F[:, :3] = 0.0
    F[:, 3] = F[:, 4]
    F *= np.logspace(-2, 1, d)
    y = np.arange(n) % k
    _, W, b = tl.linear_probe(F, y, F, y, C=C, tol=1e-8, solver="newton")
    g = _probe_gradient(F, y, W, b, C)
    assert np.abs(g).max() <= 1e-8
    assert abs(b.sum()) < 1e-10               # no drift along the loss-invariant bias direction
    # L-BFGS from the same start ends at no lower objective (it is convex; Newton is at its minimum)
    _, W2, b2 = tl.linear_probe(F, y, F, y, C=C, tol=1e-8, solver="lbfgs")
    obj = lambda W_, b_: tl._softmax_regression(np.concatenate([W_.ravel(), b_]), F, y, C, k)[0]
    assert obj(W, b) <= obj(W2, b2) + 1e-9 * abs(obj(W2, b2))


def test_auto_solver_picks_newton_for_few_parameters_only():
    rng = np.random.default_rng(6)
    for d, expected in [(10, "newton"), (tl.NEWTON_MAX_PARAMS // 3 + 1, "lbfgs")]:
        F, y = rng.normal(size=(40, d)), np.arange(40) % 3
        auto = tl.linear_probe(F, y, F, y, C=1.0, solver="auto")
        chosen = tl.linear_probe(F, y, F, y, C=1.0, solver=expected)
        np.testing.assert_array_equal(auto[1], chosen[1])
        np.testing.assert_array_equal(auto[2], chosen[2])
    with pytest.raises(ValueError, match="solver"):
        tl.linear_probe(F, y, F, y, solver="sgd")


def test_linear_probe_bad_input():
    F, y = _data(8)
    with pytest.raises(ValueError, match="F_train"):
        tl.linear_probe(F[:, 0], y, F, y)
    with pytest.raises(ValueError, match="F_test"):
        tl.linear_probe(F, y, F[:, :3], y)
    with pytest.raises(ValueError, match="C"):
        tl.linear_probe(F, y, F, y, C=0.0)
    with pytest.raises(ValueError, match="tol"):
        tl.linear_probe(F, y, F, y, tol=-1.0)
    with pytest.raises(ValueError, match="y_train"):
        tl.linear_probe(F, np.zeros(len(F), int), F, y)


def test_layer_features_equal_manual_forward():
    torch.manual_seed(9)
    net = tl.named_mlp(SIZES).double()
    X, _ = _data(9)
    h1 = torch.relu(net.fc1(torch.tensor(X)))
    assert np.allclose(tl.layer_features(net, X, "act1"), h1.detach().numpy(), atol=1e-12)
    h2 = torch.relu(net.fc2(h1))
    assert np.allclose(tl.layer_features(net, X, "act2"), h2.detach().numpy(), atol=1e-12)
    assert np.array_equal(tl.layer_features(net, X, "input"), X)
    with pytest.raises(ValueError, match="upto"):
        tl.layer_features(net, X, "conv3")


# -- data helpers ---------------------------------------------------------------------------------------
def test_place_on_canvas_keeps_each_image_intact():
    rng = np.random.default_rng(10)
    X = rng.random((5, 64))
    out = tl.place_on_canvas(X, 12, 0, copies=2)
    assert out.shape == (10, 144)
    for i in range(10):
        canvas = out[i].reshape(12, 12)
        rows, cols = np.nonzero(canvas)
        r, c = rows.min(), cols.min()
        assert np.allclose(canvas[r:r + 8, c:c + 8], X[i % 5].reshape(8, 8))
        assert np.isclose(canvas.sum(), X[i % 5].sum())
    assert np.array_equal(tl.place_on_canvas(X, 8, 0), X)
    with pytest.raises(ValueError, match="size"):
        tl.place_on_canvas(X, 7, 0)
    with pytest.raises(ValueError, match="X"):
        tl.place_on_canvas(X[:, :10], 12, 0)


def test_sample_per_class():
    y = np.repeat(np.arange(4), [5, 6, 7, 8])
    idx = tl.sample_per_class(y, 3, 0)
    assert len(set(idx)) == 12 and np.array_equal(np.bincount(y[idx]), [3, 3, 3, 3])
    with pytest.raises(ValueError, match="n_per_class"):
        tl.sample_per_class(y, 6, 0)


# -- figures: every control value draws something, extremes included ---------------------------------
def _explorer_fixture():
    X, y = _data(12, n=40)
    subsets = [np.arange(0, 10), np.arange(10, 40)]
    pre = tl.named_mlp(SIZES)
    out = {}
    for s in tl.STRATEGIES:
        _, hist, _ = tl.run_strategy(s, pre, SIZES, X, y, subsets, X, y, num_steps=20,
                                     snapshot_every=10, progress=False)
        out[s] = tl.weight_change_history(hist, [0, 1], ["fc1", "fc2", "head"], filter_model=0)
    return out


def test_weight_change_history_zero_for_frozen_layers():
    ex = _explorer_fixture()
    assert sorted(ex["features"]["change"]) == [0, 10, 20]
    assert np.all(ex["features"]["change"][20]["fc1"] == 0)
    assert np.all(ex["features"]["change"][20]["head"] > 0)
    assert np.all(ex["full"]["change"][20]["fc1"] > 0)
    assert ex["full"]["fc1"][20].shape == (7, 12)   # (d_hidden, d_in) of model 0


def test_filter_grid_tiles_square_filters():
    W = np.arange(1, 2 * 16 + 1, dtype=float).reshape(2, 16)
    grid = tl._filter_grid(W, 2)
    assert grid.shape == (4, 4 * 5 - 1)
    assert np.allclose(grid[:, :4], W[0].reshape(4, 4) / 16)
    assert np.isnan(grid[:, 4]).all()


def test_draw_functions_handle_every_static_value():
    from matplotlib.figure import Figure
    ex = _explorer_fixture()
    sizes = [1, 5, 20]
    rng = np.random.default_rng(0)
    sweep = {s: rng.random((3, 2)) for s in tl.STRATEGIES}
    disc = {d: rng.random((3, 2)) for d in [0.0, 0.1, 1.0]}
    for k in [1, 5, 20, 50]:
        fig = Figure()
        tl.draw_size_sweep(fig, k, sweep, sizes, baseline=np.full(3, 0.3), chance=0.2)
        assert len(fig.axes) == 2
    for s in tl.STRATEGIES:
        for step in [0, 10, 20, 100]:
            fig = Figure()
            tl.draw_layer_explorer(fig, s, step, ex, n_filters=4)
            assert fig.axes[0].lines
    for d in [0.0, 0.1, 1.0]:
        fig = Figure()
        tl.draw_discriminative(fig, d, disc, sizes)
        assert fig.axes[0].lines


def test_figures_redraw_in_place_at_every_static_value(persistent_frames_match):
    """clear=False (as in the chapter): every static frame of each figure draws into the same
    axes, whatever frame came before, and matches a figure drawn from scratch."""
    from functools import partial

    from dlbook import widgets
    ex = _explorer_fixture()
    ks = [1, 2, 5, 10, 20, 50]
    rng = np.random.default_rng(0)
    sweep = {s: rng.random((len(ks), 3)) for s in tl.STRATEGIES}
    disc = {d: rng.random((len(ks), 3)) for d in [0.0, 0.03, 0.1, 0.3, 1.0]}
    figures = [
        (partial(tl.draw_size_sweep, sweep=sweep, sizes=ks, baseline=rng.random(len(ks)),
                 chance=0.2),
         dict(labels_per_class=widgets.IntSlider(1, 50, value=5, static=ks)), 2),
        (partial(tl.draw_layer_explorer, explorer=ex, n_filters=4),
         dict(strategy=widgets.Dropdown(list(tl.STRATEGIES), value="full"),
              step=widgets.IntSlider(0, 20, value=20, step=10, static=[0, 10, 20])), 3),
        (partial(tl.draw_discriminative, disc=disc, sizes=ks),
         dict(decay=widgets.Dropdown(sorted(disc), value=0.3)), 2),
    ]
    for draw, controls, n_axes in figures:
        made = []

        def make(clear):
            made.append(widgets.interactive(draw, clear=clear, figsize=(6, 2.5), dpi=40, **controls))
            return made[-1]
        persistent_frames_match(make, every=1)
        live = made[0]
        live.render(**{n: controls[n].value for n in controls})   # back to the default after all
        assert len(live.figure.axes) == n_axes


def test_layer_explorer_notes_follow_the_step():
    from matplotlib.figure import Figure
    ex = _explorer_fixture()
    fig = Figure()
    tl.draw_layer_explorer(fig, "features", 0, ex, n_filters=4)
    texts = {t.get_text(): t for t in fig.axes[0].texts}
    assert texts["step 0: nothing has moved yet"].get_visible()
    tl.draw_layer_explorer(fig, "features", 20, ex, n_filters=4)
    shown = [t.get_text() for t in fig.axes[0].texts if t.get_visible() and t.get_text()]
    assert shown == ["fc1, fc2 frozen: no change"]
    tl.draw_layer_explorer(fig, "full", 20, ex, n_filters=4)
    assert not [t.get_text() for t in fig.axes[0].texts if t.get_visible() and t.get_text()]
    assert fig.axes[2].get_title() == "fc1 filters at step 20"


# -- cached frozen layers, LP-FT starts, learning-rate selection, BatchNorm ---------------------
@pytest.mark.parametrize("strategy", ["features", "last"])
def test_cache_frozen_gives_the_same_training_as_the_full_forward(strategy):
    X, y = _data(21, n=40)
    subsets = [np.arange(12), np.arange(12, 40)]
    pre = tl.named_mlp(SIZES)
    a, ha, net_a = tl.run_strategy(strategy, pre, SIZES, X, y, subsets, X, y, num_steps=15,
                                   batch_size=8, snapshot_every=5, progress=False)
    b, hb, net_b = tl.run_strategy(strategy, pre, SIZES, X, y, subsets, X, y, num_steps=15,
                                   batch_size=8, snapshot_every=5, progress=False, cache_frozen=True)
    for (n, p), (_, q) in zip(net_a.named_parameters(), net_b.named_parameters()):
        assert torch.allclose(p, q, atol=1e-5), n
    assert np.allclose(a, b)
    assert set(ha["snapshots"]) == set(hb["snapshots"]) == {0, 5, 10, 15}
    for t in ha["snapshots"]:
        assert list(ha["snapshots"][t]) == list(hb["snapshots"][t])        # same names, same order
        for n in ha["snapshots"][t]:
            assert np.allclose(ha["snapshots"][t][n], hb["snapshots"][t][n], atol=1e-5), (t, n)
    assert not torch.equal(net_b.head.weight, tl.stacked_mlp(SIZES, 2).head.weight)


def test_init_is_the_starting_point():
    X, y = _data(22, n=30)
    subsets = [np.arange(10), np.arange(10, 30)]
    pre = tl.named_mlp(SIZES)
    torch.manual_seed(3)
    start = tl.load_body(tl.stacked_mlp(SIZES, 2), pre)                    # what init_seed=3 builds
    a, _, net_a = tl.run_strategy("full", pre, SIZES, X, y, subsets, X, y, num_steps=5,
                                  init_seed=3, progress=False)
    b, _, net_b = tl.run_strategy("full", None, SIZES, X, y, subsets, X, y, num_steps=5,
                                  init_seed=3, init=start, progress=False)
    for (n, p), (_, q) in zip(net_a.named_parameters(), net_b.named_parameters()):
        assert torch.equal(p, q), n
    with pytest.raises(ValueError, match="init"):
        tl.run_strategy("full", pre, SIZES, X, y, subsets, X, y, num_steps=1, progress=False,
                        init=tl.stacked_mlp([12, 7, 3], 2))


def test_train_losses_equal_torch_cross_entropy_per_model():
    X, y = _data(23, n=30)
    subsets = [np.arange(4), np.arange(4, 30)]
    stack = tl.stacked_mlp(SIZES, 2).double()
    got = tl.train_losses(stack, X, y, subsets)
    for m, idx in enumerate(subsets):
        logits = stack(torch.tensor(X[idx])[None].expand(2, -1, -1))[m]
        ref = torch.nn.functional.cross_entropy(logits, torch.tensor(y[idx])).item()
        assert got[m] == pytest.approx(ref, rel=1e-6)


def test_select_by_validation():
    val = np.array([[0.5, 0.7, 0.2, 0.2], [0.6, 0.6, 0.9, 0.1]])     # 2 settings, 2 groups of 2
    test = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    best, acc = tl.select_by_validation(val, test, 2)
    assert best.tolist() == [0, 1]                                     # ties go to the first
    assert acc.tolist() == [[1.0, 2.0], [7.0, 8.0]]
    with pytest.raises(ValueError, match="n_groups"):
        tl.select_by_validation(val, test, 3)
    with pytest.raises(ValueError, match="val"):
        tl.select_by_validation(val, test[:, :2], 2)


def test_lr_sweep_is_run_strategy_at_each_lr():
    X, y = _data(24, n=30)
    subsets = [np.arange(10), np.arange(10, 30)]
    pre = tl.named_mlp(SIZES)
    out = tl.lr_sweep("last", [1e-3, 1e-1], pre, SIZES, X, y, subsets, X[:15], y[:15], X, y,
                      num_steps=5, progress=False, snapshot_lr=1e-1, snapshot_every=5)
    assert out["val"].shape == out["test"].shape == out["loss"].shape == (2, 2)
    for i, lr in enumerate([1e-3, 1e-1]):
        acc, _, net = tl.run_strategy("last", pre, SIZES, X, y, subsets, X, y, lr=lr, num_steps=5,
                                      progress=False)
        assert np.allclose(out["test"][i], acc)
        assert np.allclose(out["val"][i], tl.stacked_accuracy(net, X[:15], y[:15]))
    assert not out["runs"][0][0]["snapshots"] and set(out["runs"][1][0]["snapshots"]) == {0, 5}
    with pytest.raises(ValueError, match="lrs"):
        tl.lr_sweep("last", [0.0], pre, SIZES, X, y, subsets, X, y, X, y, num_steps=1)


def test_swap_head_takes_the_named_nets_head_only():
    pre = tl.named_mlp(SIZES)
    stack = tl.stacked_mlp(SIZES, 3)
    out = tl.swap_head(stack, pre)
    for m in range(3):
        assert torch.equal(out.head.weight[m], pre.head.weight)
        assert torch.equal(out.fc1.weight[m], stack.fc1.weight[m])
    assert not torch.equal(stack.head.weight[0], pre.head.weight)              # the input is untouched


def _bn_net():
    from collections import OrderedDict
    return torch.nn.Sequential(OrderedDict([("fc1", torch.nn.Linear(12, 6)),
                                            ("bn1", torch.nn.BatchNorm1d(6)),
                                            ("act1", torch.nn.ReLU()), ("head", torch.nn.Linear(6, 3))]))


@pytest.mark.parametrize("bn_eval", [True, False])
def test_fit_head_bn_statistics_move_only_in_train_mode(bn_eval):
    torch.manual_seed(8)
    X, y = _data(25, n=20)
    net = tl.freeze(_bn_net(), ["fc1", "bn1"])
    before = {k: v.clone() for k, v in net.state_dict().items()}
    tl.fit_head(net, X + 3.0, y, num_steps=5, lr=1e-2, bn_eval=bn_eval)   # shifted inputs
    after = net.state_dict()
    for k in ["fc1.weight", "fc1.bias", "bn1.weight", "bn1.bias"]:
        assert torch.equal(before[k], after[k]), k
    assert torch.equal(before["bn1.running_mean"], after["bn1.running_mean"]) == bn_eval
    assert not torch.equal(before["head.weight"], after["head.weight"])
    assert not net.training
    with pytest.raises(ValueError, match="num_steps"):
        tl.fit_head(net, X, y, num_steps=0)


def test_probe_sweep_matches_linear_probe_and_torch_cross_entropy():
    rng = np.random.default_rng(3)
    F, y = rng.normal(size=(60, 4)), rng.integers(0, 3, 60)
    subsets = [np.arange(0, 20), np.arange(20, 45)]
    val, test = np.arange(45, 52), np.arange(52, 60)
    out = tl.probe_sweep(F, y, subsets, val, test, [0.5, 2.0], tol=1e-8, warm_start=False)
    for i, C in enumerate([0.5, 2.0]):
        for m, idx in enumerate(subsets):
            acc, W, b = tl.linear_probe(F[idx], y[idx], F[test], y[test], C=C, tol=1e-8)
            assert out["test"][i, m] == acc
            np.testing.assert_allclose(out["params"][i][m][0], W, rtol=0, atol=1e-12)
            assert out["val"][i, m] == ((F[val] @ W + b).argmax(1) == y[val]).mean()
            ce = torch.nn.functional.cross_entropy(torch.tensor(F[idx] @ W + b), torch.tensor(y[idx]))
            assert abs(out["loss"][i, m] - ce.item()) < 1e-12


def test_probe_sweep_rejects_bad_input():
    F, y = np.zeros((6, 2)), np.array([0, 1] * 3)
    with pytest.raises(ValueError, match="Cs"):
        tl.probe_sweep(F, y, [np.arange(4)], [4], [5], [0.0])
    with pytest.raises(ValueError, match="F"):
        tl.probe_sweep(F[:5], y, [np.arange(4)], [4], [5], [1.0])


def test_size_sweep_title_says_tied_unless_lead_is_two_standard_errors():
    from dlbook import plot
    sizes = [1, 5]
    clear = {"a": np.array([[0.5] * 5, [0.9, 0.91, 0.9, 0.92, 0.9]]), "b": np.array([[0.4] * 5, [0.5] * 5])}
    fig, _ = plot.figure()
    tl.draw_size_sweep(fig, 5, clear, sizes)
    assert fig.axes[1].get_title() == "5/class, best: a"
    close = {"a": np.array([[0.5] * 5, [0.60, 0.50, 0.55, 0.52, 0.50]]),
             "b": np.array([[0.4] * 5, [0.50, 0.55, 0.50, 0.54, 0.52]])}
    fig, _ = plot.figure()
    tl.draw_size_sweep(fig, 5, close, sizes)
    assert fig.axes[1].get_title() == "5/class, tied: a, b"


def test_probe_sweep_warm_start_reaches_the_same_optimum():
    rng = np.random.default_rng(4)
    F, y = rng.normal(size=(60, 4)), rng.integers(0, 3, 60)
    args = (F, y, [np.arange(0, 30)], np.arange(30, 45), np.arange(45, 60), [0.3, 3.0])
    cold = tl.probe_sweep(*args, tol=1e-9, warm_start=False)
    warm = tl.probe_sweep(*args, tol=1e-9, warm_start=True)
    for (Wc, bc), (Ww, bw) in zip(cold["params"][1], warm["params"][1]):
        np.testing.assert_allclose(Ww, Wc, rtol=0, atol=1e-6)
        np.testing.assert_allclose(bw, bc, rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="init"):
        tl.linear_probe(F, y, F, y, init=(np.zeros((3, 3)), np.zeros(3)))
