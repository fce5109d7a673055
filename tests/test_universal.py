"""dlbook.universal: least-squares one-hidden-layer fits, their error as units grow, L-BFGS."""
import numpy as np
import pytest
import torch

from dlbook import universal, widgets


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="n_hidden"):
        universal.hidden_layer(0)
    with pytest.raises(ValueError, match="activation"):
        universal.hidden_layer(3, "tanh")
    with pytest.raises(ValueError, match="target"):
        universal.universal_errors("cubic", "relu", [1])


def test_universal_fit_is_least_squares_and_improves():
    x = np.linspace(-1, 1, 200)
    y = universal.TARGETS["sine"](x)
    for act in ("relu", "sigmoid"):
        errs = universal.universal_errors("sine", act, [1, 4, 16, 64])
        assert np.all(np.diff(errs) < 0) and errs[-1] < 0.01
        net = universal.fit_one_hidden_layer(x, y, 6, act)
        # the output layer is the least-squares solution: residual orthogonal to hidden features
        H = net.f(x[:, None] @ net.params[0].T + net.params[1])
        r = net.forward(x[:, None])[:, 0] - y
        np.testing.assert_allclose(H.T @ r, 0, atol=1e-8)
    # |x| has a kink at 0: with an even number of relu units a kink sits at 0 and the fit is exact
    net = universal.fit_one_hidden_layer(x, np.abs(x), 2, "relu")
    np.testing.assert_allclose(net.forward(x[:, None])[:, 0], np.abs(x), atol=1e-10)


@pytest.mark.parametrize("n,target,act", [(1, "step", "relu"), (64, "bump", "sigmoid"), (64, "|x|", "relu")])
def test_draw_universal_extremes(n, target, act):
    fig = widgets.interactive(universal.draw_universal, clear=False, n_hidden=widgets.IntSlider(1, 64, value=n),
                              target=widgets.Dropdown(list(universal.TARGETS), value=target),
                              activation=widgets.Dropdown(["relu", "sigmoid"], value=act))
    assert len(fig.render()) > 1000
    assert len(fig.render(n_hidden=33)) > 1000     # a value with no static frame, artists reused


def test_trained_units_beat_fixed_units():
    net, x, y = universal.fit_1d_lbfgs(4, "sine", activation="tanh", max_iter=150)
    with torch.no_grad():
        rms = np.sqrt(np.mean((net(torch.from_numpy(x[:, None])).numpy()[:, 0] - y) ** 2))
    assert rms < 0.5 * universal.universal_errors("sine", "relu", [4])[0]
    with pytest.raises(ValueError, match="target"):
        universal.fit_1d_lbfgs(4, "cubic")


def test_persistent_figure_matches_fresh_one(persistent_frames_match):
    """clear=False redraws (as in the chapter) look exactly like frames drawn from scratch."""
    persistent_frames_match(lambda clear: widgets.interactive(
        universal.draw_universal, clear=clear,
        n_hidden=widgets.IntSlider(1, 64, value=8, static=[1, 8, 64]),
        target=widgets.Dropdown(list(universal.TARGETS)), activation=widgets.Dropdown(["relu", "sigmoid"])))


def test_trained_from_construction_starts_at_the_fixed_fit_and_improves():
    """init='construction' copies the least-squares construction, then training only lowers the error."""
    x = np.linspace(-1, 1, 200)
    fixed = universal.fit_one_hidden_layer(x, universal.TARGETS["sine"](x), 4, "relu")
    start = fixed.to_torch()                             # what init="construction" starts from
    with torch.no_grad():
        np.testing.assert_allclose(start(torch.from_numpy(x[:, None])).numpy()[:, 0],
                                   fixed.forward(x[:, None])[:, 0], rtol=1e-12, atol=1e-12)
    fixed_rms = np.sqrt(np.mean((fixed.forward(x[:, None])[:, 0] - np.sin(2 * np.pi * x)) ** 2))
    net, _, _ = universal.fit_1d_lbfgs(4, "sine", "relu", max_iter=1, init="construction")
    with torch.no_grad():
        one_step = np.sqrt(np.mean((net(torch.from_numpy(x[:, None])).numpy()[:, 0] - np.sin(2 * np.pi * x)) ** 2))
    assert one_step <= fixed_rms + 1e-12                 # a line-searched step from the construction
    trained = universal.trained_rms(4, "sine", "relu", init="construction")[0]
    assert trained < 0.8 * fixed_rms
    with pytest.raises(ValueError, match="init"):
        universal.fit_1d_lbfgs(4, init="xavier")
    with pytest.raises(ValueError, match="max_iter"):
        universal.fit_1d_lbfgs(4, max_iter=0)


def test_trained_rms_is_the_rms_of_fit_1d_lbfgs_per_seed():
    errs = universal.trained_rms(3, "bump", "tanh", seeds=[0, 1])
    for seed, e in zip([0, 1], errs):
        net, x, y = universal.fit_1d_lbfgs(3, "bump", "tanh", seed=seed)
        with torch.no_grad():
            ref = torch.sqrt(torch.mean((net(torch.from_numpy(x[:, None]))[:, 0] - torch.from_numpy(y)) ** 2))
        assert e == pytest.approx(ref.item(), rel=1e-12)


def test_relu_kinks():
    net = torch.nn.Sequential(torch.nn.Linear(1, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)).double()
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[2.0], [-1.0], [0.0]], dtype=torch.float64))
        net[0].bias.copy_(torch.tensor([1.0, 0.5, 1.0], dtype=torch.float64))
    np.testing.assert_array_equal(universal.relu_kinks(net), [-np.inf, -0.5, 0.5])


def test_trained_rms_can_return_the_trained_nets():
    errs, nets = universal.trained_rms(3, "bump", "relu", seeds=[0, 2], max_iter=20, return_nets=True)
    assert len(nets) == 2
    np.testing.assert_array_equal(errs, universal.trained_rms(3, "bump", "relu", seeds=[0, 2], max_iter=20))
    x = np.linspace(-1, 1, 200)
    for e, net in zip(errs, nets):
        with torch.no_grad():
            y_hat = net(torch.from_numpy(x[:, None])).numpy()[:, 0]
        assert e == pytest.approx(np.sqrt(np.mean((y_hat - universal.TARGETS["bump"](x)) ** 2)), rel=1e-12)


def test_relu_unit_states_against_torch_activations():
    """Dead = the ReLU output is 0 on every x; always on = the unit's output equals its pre-activation > 0."""
    net = torch.nn.Sequential(torch.nn.Linear(1, 5), torch.nn.ReLU(), torch.nn.Linear(5, 1)).double()
    with torch.no_grad():                                 # kinks at 3 (off on [−1, 1]), −2 (on), 0, −1 (on at x > −1), −5 (off)
        net[0].weight.copy_(torch.tensor([[1.0], [1.0], [2.0], [1.0], [-1.0]], dtype=torch.float64))
        net[0].bias.copy_(torch.tensor([-3.0, 2.0, 0.0, 1.0, -5.0], dtype=torch.float64))
    x = np.linspace(-1, 1, 101)
    assert universal.relu_unit_states(net, x) == (2, 2)   # unit 3's kink is at the end x = −1: it counts as on
    with torch.no_grad():
        h = net[1](net[0](torch.from_numpy(x[:, None]))).numpy()
    assert int((h == 0).all(axis=0).sum()) == 2 and int((h > 0).all(axis=0).sum()) == 1
    assert universal.relu_unit_states(net, np.linspace(-0.9, 1, 50)) == (2, 2)
    assert universal.relu_unit_states(net, np.linspace(-1.5, 1, 50)) == (2, 1)   # unit 3 bends inside
    # random nets: dead count agrees with the ReLU outputs computed by torch
    for seed in range(5):
        torch.manual_seed(seed)
        rnd = torch.nn.Sequential(torch.nn.Linear(1, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1)).double()
        with torch.no_grad():
            h = rnd[1](rnd[0](torch.from_numpy(x[:, None]))).numpy()
        dead, on = universal.relu_unit_states(rnd, x)
        assert dead == int((h == 0).all(axis=0).sum()) and on == int((h > 0).all(axis=0).sum())
    with pytest.raises(ValueError, match="x"):
        universal.relu_unit_states(net, np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match="tol"):
        universal.relu_unit_states(net, x, tol=0)
