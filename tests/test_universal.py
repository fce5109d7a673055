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
