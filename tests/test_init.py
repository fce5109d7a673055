"""dlbook.init against torch.nn.init: fans and gains exactly, samples statistically."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from dlbook import init

shapes = st.lists(st.integers(1, 9), min_size=2, max_size=5).map(tuple)


@given(shapes)
def test_fans_match_torch_for_linear_and_conv_shapes(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init.fans(shape) == expected


@pytest.mark.parametrize("name", ["linear", "conv1d", "conv2d", "conv3d", "sigmoid", "tanh",
                                  "relu", "leaky_relu", "selu"])
def test_gain_matches_torch(name):
    assert init.gain(name) == pytest.approx(torch.nn.init.calculate_gain(name), rel=1e-15)


@given(st.floats(-10, 10, allow_nan=False))
def test_leaky_relu_gain_matches_torch_for_any_slope(slope):
    assert init.gain("leaky_relu", slope) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", slope), rel=1e-12)


def _sample_std_tolerance(std, n, sigmas=6.0):
    """Standard error of a sample std of n normal-ish draws is about std / sqrt(2n)."""
    return sigmas * std / math.sqrt(2 * n)


# (dlbook sampler, torch initializer, formula std of the weight, uniform?) for a given shape
def _cases(shape):
    fan_in, fan_out = init.fans(shape)
    return {
        "xavier_uniform": (lambda r: init.xavier_uniform(shape, gain=1.3, rng=r),
                           lambda t: torch.nn.init.xavier_uniform_(t, gain=1.3),
                           1.3 * math.sqrt(2 / (fan_in + fan_out)), True),
        "xavier_normal": (lambda r: init.xavier_normal(shape, gain=0.7, rng=r),
                          lambda t: torch.nn.init.xavier_normal_(t, gain=0.7),
                          0.7 * math.sqrt(2 / (fan_in + fan_out)), False),
        "kaiming_uniform_fan_in": (lambda r: init.kaiming_uniform(shape, nonlinearity="relu", rng=r),
                                   lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="relu"),
                                   math.sqrt(2 / fan_in), True),
        "kaiming_uniform_default": (lambda r: init.kaiming_uniform(shape, rng=r),
                                    lambda t: torch.nn.init.kaiming_uniform_(t),
                                    math.sqrt(2 / fan_in), True),
        "kaiming_normal_fan_out": (lambda r: init.kaiming_normal(shape, mode="fan_out", nonlinearity="relu", rng=r),
                                   lambda t: torch.nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
                                   math.sqrt(2 / fan_out), False),
        "kaiming_normal_leaky": (lambda r: init.kaiming_normal(shape, a=0.2, rng=r),
                                 lambda t: torch.nn.init.kaiming_normal_(t, a=0.2),
                                 math.sqrt(2 / (1 + 0.04)) / math.sqrt(fan_in), False),
        "lecun_normal": (lambda r: init.lecun_normal(shape, rng=r),
                         lambda t: torch.nn.init.kaiming_normal_(t, nonlinearity="linear"),
                         1 / math.sqrt(fan_in), False),
        "lecun_uniform": (lambda r: init.lecun_uniform(shape, rng=r),
                          lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="linear"),
                          1 / math.sqrt(fan_in), True),
        "torch_default_linear": (lambda r: init.torch_default_linear(shape, rng=r),
                                 lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5)),
                                 1 / math.sqrt(3 * fan_in), True),
    }


@pytest.mark.parametrize("shape", [(400, 300), (64, 32, 3, 3), (32, 16, 5), (8, 4, 3, 3, 3)])
@pytest.mark.parametrize("case", list(_cases((2, 2))))
def test_scheme_statistics_match_torch(shape, case):
    ours, theirs, std, is_uniform = _cases(shape)[case]
    torch.manual_seed(0)
    # Repeat small shapes so every comparison uses ~100k draws.
    reps = max(1, 100_000 // math.prod(shape))
    w_ours = np.concatenate([ours(seed).ravel() for seed in range(reps)])
    w_torch = torch.cat([theirs(torch.empty(shape, dtype=torch.float64)).ravel() for _ in range(reps)]).numpy()
    tol = _sample_std_tolerance(std, w_ours.size)
    assert abs(w_ours.std() - std) < tol
    assert abs(w_torch.std() - std) < tol
    assert abs(w_ours.mean()) < 6 * std / math.sqrt(w_ours.size)
    if is_uniform:
        bound = math.sqrt(3) * std
        assert np.abs(w_ours).max() <= bound
        assert np.abs(w_torch).max() <= bound * (1 + 1e-12)
        assert np.abs(w_ours).max() > 0.999 * bound  # the support really reaches the bound
    else:  # normal: the 4th standardized moment is 3 (a uniform's is 1.8)
        kurt = np.mean((w_ours / w_ours.std()) ** 4)
        assert abs(kurt - 3.0) < 0.1


@pytest.mark.parametrize("shape", [(256, 512), (64, 32, 3, 3), (10, 3)])
def test_torch_default_bias_matches_torch_layers(shape):
    # nn.Linear / nn.Conv2d draw their bias from U(±1/√fan_in); compare bound and std over many layers.
    fan_in = init.fans(shape)[0]
    bound = 1 / math.sqrt(fan_in)
    make = (lambda: torch.nn.Linear(shape[1], shape[0])) if len(shape) == 2 else \
        (lambda: torch.nn.Conv2d(shape[1], shape[0], shape[2:]))
    torch.manual_seed(0)
    reps = max(1, 50_000 // shape[0])
    b_torch = torch.cat([make().bias.detach().double() for _ in range(reps)]).numpy()
    b_ours = np.concatenate([init.torch_default_bias(shape, rng=seed) for seed in range(reps)])
    assert init.torch_default_bias(shape, rng=0).shape == (shape[0],)
    std = bound / math.sqrt(3)
    tol = _sample_std_tolerance(std, b_ours.size)
    assert abs(b_ours.std() - std) < tol and abs(b_torch.std() - std) < tol
    assert np.abs(b_ours).max() <= bound and np.abs(b_torch).max() <= bound * (1 + 1e-6)
    assert np.abs(b_ours).max() > 0.999 * bound


def test_torch_default_scheme_reproduces_a_real_default_torch_network():
    # 50 default Linear(64, 64) + tanh in torch vs layer_statistics("torch default"): the
    # activations level off (biases) while gradients vanish; without biases both vanish.
    ours = init.layer_statistics(50, width=64, batch=256, scheme="torch default", activation="tanh")
    no_bias = init.layer_statistics(50, width=64, batch=256, scheme="torch default, zero bias",
                                    activation="tanh")
    torch.manual_seed(0)
    net = torch.nn.Sequential(*[m for _ in range(50) for m in (torch.nn.Linear(64, 64), torch.nn.Tanh())]).double()
    X = torch.randn(256, 64, dtype=torch.float64, requires_grad=True)
    out = net(X)
    out.backward(torch.randn_like(out))
    ratio = ours["act_std"][-1] / out.std().item()
    assert 0.7 < ratio < 1.4
    assert 0.1 < ours["grad_std"][0] / X.grad.std().item() < 10
    assert ours["grad_std"][0] < 1e-8 and no_bias["act_std"][-1] < 1e-8


def test_chi_predicts_the_measured_gradient_growth():
    # The mean-field factor chi = n Var(W) E[f'(z)^2] per layer matches the measured ratio of
    # gradient variances through a deep tanh net, on both sides of chi = 1.
    for scale in (1.0, 2.0):
        s = init.layer_statistics(40, scheme="xavier normal", activation="tanh", scale=scale)
        measured = (s["grad_std"][0] / s["grad_std"][-1]) ** (2 / 39)
        chi = np.exp(np.log(s["chi"][:-1]).mean())
        assert chi == pytest.approx(measured, rel=0.05)
    assert chi > 1.2


def test_inline_xavier_uniform_equals_dlbook():
    # The chapter builds Xavier-uniform in two lines; dlbook must produce the same numbers.
    fan_out, fan_in = 256, 784
    a = np.sqrt(6.0 / (fan_in + fan_out))
    W_inline = np.random.default_rng(1).uniform(-a, a, size=(fan_out, fan_in))
    np.testing.assert_array_equal(W_inline, init.xavier_uniform((fan_out, fan_in), rng=1))


def test_apply_init_copies_numpy_draws_into_torch_layers():
    net = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.Tanh(), torch.nn.Linear(4, 3)).double()
    init.apply_init(net, "xavier normal", rng=3, bias=0.5)
    rng = np.random.default_rng(3)
    np.testing.assert_array_equal(net[0].weight.detach().numpy(), init.xavier_normal((4, 5), rng=rng))
    np.testing.assert_array_equal(net[2].weight.detach().numpy(), init.xavier_normal((3, 4), rng=rng))
    assert torch.all(net[0].bias == 0.5) and torch.all(net[2].bias == 0.5)
    init.apply_init(net, "xavier normal", rng=3)                      # default: zero bias
    assert torch.all(net[0].bias == 0) and torch.all(net[2].bias == 0)
    init.apply_init(net, "torch default", rng=3)                      # default bias, drawn after W
    rng = np.random.default_rng(3)
    W0 = init.torch_default_linear((4, 5), rng=rng)
    np.testing.assert_array_equal(net[0].weight.detach().numpy(), W0)
    np.testing.assert_array_equal(net[0].bias.detach().numpy(), init.torch_default_bias((4, 5), rng=rng))
    assert net[0].bias.abs().max() <= 1 / math.sqrt(5) and net[0].bias.abs().min() > 0


def test_propagate_with_biases_matches_autograd():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((5, 4))
    weights = [init.xavier_normal((4, 4), rng=rng), init.xavier_normal((3, 4), rng=rng)]
    biases = [rng.standard_normal(4), rng.standard_normal(3)]
    g_out = rng.standard_normal((5, 3))
    ours = init.propagate(X, weights, "tanh", grad_out=g_out, biases=biases)
    Ws = [torch.tensor(W, requires_grad=True) for W in weights]
    x = torch.tensor(X, requires_grad=True)
    h1 = torch.tanh(x @ Ws[0].T + torch.tensor(biases[0]))
    h2 = torch.tanh(h1 @ Ws[1].T + torch.tensor(biases[1]))
    h2.backward(torch.tensor(g_out))
    np.testing.assert_allclose(ours["h"][1], h2.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ours["grad_h"][0], x.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours["grad_W"][0], Ws[0].grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear", "gelu", "leaky_relu"])
def test_propagate_matches_autograd(activation):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 6))
    weights = [init.xavier_normal((6, 6), rng=rng) for _ in range(3)] + [init.xavier_normal((4, 6), rng=rng)]
    g_out = rng.standard_normal((7, 4))
    ours = init.propagate(X, weights, activation, grad_out=g_out)

    fns = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "linear": lambda z: z,
           "gelu": torch.nn.functional.gelu, "leaky_relu": torch.nn.functional.leaky_relu}
    Ws = [torch.tensor(W, requires_grad=True) for W in weights]
    hs = [torch.tensor(X, requires_grad=True)]
    for W in Ws:
        h = fns[activation](hs[-1] @ W.T)
        h.retain_grad()
        hs.append(h)
    hs[-1].backward(torch.tensor(g_out))
    for l in range(len(weights)):
        np.testing.assert_allclose(ours["h"][l], hs[l + 1].detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours["grad_W"][l], Ws[l].grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours["grad_h"][l], hs[l].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_layer_statistics_show_the_textbook_behaviour():
    # ReLU + He keeps the scale; ReLU + Xavier halves the variance per layer; small init vanishes.
    he = init.layer_statistics(30, scheme="he normal", activation="relu")
    xavier = init.layer_statistics(30, scheme="xavier normal", activation="relu")
    small = init.layer_statistics(30, scheme="small normal (0.01)", activation="tanh")
    assert 0.2 < he["act_std"][-1] < 5
    ratio = np.median(xavier["act_std"][1:] / xavier["act_std"][:-1])
    assert ratio == pytest.approx(1 / math.sqrt(2), abs=0.05)
    assert small["act_std"][-1] < 1e-20


def test_zero_init_keeps_units_identical():
    weights = [init.zeros((4, 4)) for _ in range(3)]
    out = init.propagate(np.ones((2, 4)), weights, "tanh")
    assert all(np.all(g == 0) for g in out["grad_W"])


@pytest.mark.parametrize("call, arg", [
    (lambda: init.fans((5,)), "shape"),
    (lambda: init.fans((5, 0)), "shape"),
    (lambda: init.fans((5, -2)), "shape"),
    (lambda: init.gain("swish"), "nonlinearity"),
    (lambda: init.gain("leaky_relu", float("nan")), "param"),
    (lambda: init.xavier_std(0, 10), "fan_in"),
    (lambda: init.xavier_std(10, -1), "fan_out"),
    (lambda: init.kaiming_std(float("nan")), "fan"),
    (lambda: init.xavier_normal((3, 3), gain=-1.0), "gain"),
    (lambda: init.kaiming_normal((3, 3), mode="fan_avg"), "mode"),
    (lambda: init.normal((3, 3), std=0.0), "std"),
    (lambda: init.constant((3, 3), float("nan")), "value"),
    (lambda: init.initialize((3, 3), "orthogonal"), "scheme"),
    (lambda: init.layer_statistics(0), "depth"),
    (lambda: init.layer_statistics(3, activation="swish"), "activation"),
    (lambda: init.layer_statistics(3, scale=float("inf")), "scale"),
    (lambda: init.propagate(np.ones(3), [np.ones((3, 3))]), "X"),
    (lambda: init.propagate(np.ones((2, 3)), [np.ones((3, 4))]), "weights"),
    (lambda: init.propagate(np.ones((2, 3)), [np.ones((3, 3))], biases=[]), "biases"),
    (lambda: init.propagate(np.ones((2, 3)), [np.ones((3, 3))], biases=[np.ones(2)]), "biases"),
    (lambda: init.torch_default_bias((5,)), "shape"),
    (lambda: init.apply_init(torch.nn.Linear(2, 2), "he normal", bias=float("nan")), "bias"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


def test_chapter_figures_draw_at_the_extremes_without_failing():
    from functools import partial

    from dlbook import widgets
    stats = widgets.interactive(partial(init.draw_layer_statistics, width=16), clear=False,
                                depth=widgets.IntSlider(1, 50, value=50),
                                scale=widgets.LogSlider(0.25, 4.0, value=4.0),
                                activation=widgets.Dropdown(["relu", "linear", "sigmoid"]),
                                scheme=widgets.Dropdown(["zeros", "he normal", "small normal (0.01)"]))
    stats.render()                                             # zeros: nothing to put on a log axis
    assert "exactly 0" in stats.figure.axes[0].texts[0].get_text()
    stats.render(scheme="he normal", activation="linear")      # 4^50 growth: huge but finite
    s = init.layer_statistics(50, width=16, scheme="he normal", activation="linear", scale=4.0, batch=16)
    above = int(np.sum(s["act_std"] > 1e10))                  # std grows ~ (4·√2)^l: 1e10 near l = 14
    assert 30 <= above <= 45
    assert stats.figure.axes[0].texts[0].get_text() == f"{above} layer(s) above 1e10"
    assert len(stats.figure.axes[0].lines[0].get_xdata()) == 50
    stats.render(scheme="he normal", activation="linear", depth=10, scale=1.0)  # all on the axis
    assert stats.figure.axes[0].texts[0].get_text() == ""
    assert not stats.figure.axes[0].texts[0].get_visible()
    hist = widgets.interactive(init.draw_activation_histograms, clear=False,
                               scheme=widgets.Dropdown(["zeros", "xavier normal"]),
                               activation=widgets.Dropdown(["tanh", "relu"]))
    for scheme in ("zeros", "xavier normal"):
        hist.render(scheme=scheme)
    assert len(hist.figure.axes) == 5
    runs = {(2, "tanh", "a"): {"train_loss": [2.3, float("nan")]}, (2, "tanh", "b"): {"train_loss": [2.0, 1.0]}}
    curves = widgets.interactive(partial(init.draw_training_curves, histories=runs), clear=False,
                                 depth=widgets.IntSlider(2, 3, value=2),
                                 activation=widgets.Dropdown(["tanh", "relu"]))
    curves.render()
    curves.render(depth=3, activation="relu")                 # no such run: empty lines, no error
    assert [len(line.get_xdata()) for line in curves.figure.axes[0].lines[:2]] == [0, 0]


@pytest.mark.parametrize("name", ["statistics", "histograms", "curves"])
def test_persistent_figures_match_fresh_ones(name, persistent_frames_match):
    """clear=False redraws (as in the chapter) look exactly like frames drawn from scratch."""
    from functools import partial

    from dlbook import widgets
    runs = {(d, a, s): {"train_loss": list(np.linspace(2.3, 0.1 * d + (s == "b"), 6))}
            for d in (2, 6) for a in ("tanh", "relu") for s in ("a", "b")}
    runs[(6, "relu", "b")] = {"train_loss": [2.3, float("nan")]}
    make = {
        "statistics": lambda clear: widgets.interactive(
            partial(init.draw_layer_statistics, width=16), clear=clear,
            depth=widgets.IntSlider(1, 50, value=10, static=[1, 10, 50]),
            scale=widgets.LogSlider(0.25, 4.0, value=1.0, static=3),
            activation=widgets.Dropdown(["relu", "sigmoid"]),
            scheme=widgets.Dropdown(["zeros", "he normal", "small normal (0.01)"])),
        "histograms": lambda clear: widgets.interactive(
            init.draw_activation_histograms, clear=clear, figsize=(8, 2.4),
            scheme=widgets.Dropdown(["zeros", "small normal (0.01)", "xavier normal"]),
            activation=widgets.Dropdown(["tanh", "relu"])),
        "curves": lambda clear: widgets.interactive(
            partial(init.draw_training_curves, histories=runs), clear=clear,
            depth=widgets.IntSlider(2, 10, value=2, step=4, static=[2, 6, 10]),
            activation=widgets.Dropdown(["tanh", "relu"])),
    }
    persistent_frames_match(make[name])
