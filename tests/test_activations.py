"""dlbook.activations against torch.nn.functional and autograd, in float64, incl. extreme inputs."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dlbook import activations as A

finite = arrays(np.float64, st.integers(1, 30), elements=st.floats(-50, 50, allow_nan=False))

REFERENCE = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": lambda t: F.leaky_relu(t, 0.01),
    "gelu": lambda t: F.gelu(t, approximate="none"),
    "linear": lambda t: t,
}


@pytest.mark.parametrize("name", sorted(REFERENCE))
@given(x=finite)
def test_values_and_derivatives_match_torch(name, x):
    f, df = A.get(name)
    t = torch.tensor(x, requires_grad=True)
    y = REFERENCE[name](t)
    y.sum().backward()
    np.testing.assert_allclose(f(x), y.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(df(x), t.grad.numpy(), rtol=1e-10, atol=1e-14)


@given(x=arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 8)),
                elements=st.floats(-1e4, 1e4, allow_nan=False)),
       temperature=st.floats(0.05, 20))
def test_softmax_and_log_softmax_match_torch(x, temperature):
    t = torch.tensor(x)
    np.testing.assert_allclose(A.softmax(x, temperature=temperature),
                               torch.softmax(t / temperature, dim=-1).numpy(), rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(A.log_softmax(x), torch.log_softmax(t, dim=-1).numpy(), rtol=1e-10, atol=1e-10)


@given(x=arrays(np.float64, st.integers(1, 6), elements=st.floats(-20, 20, allow_nan=False)))
def test_softmax_jacobian_matches_autograd(x):
    J = torch.autograd.functional.jacobian(lambda t: torch.softmax(t, dim=0), torch.tensor(x))
    np.testing.assert_allclose(A.softmax_jacobian(x), J.numpy(), rtol=1e-10, atol=1e-14)


def test_sigmoid_derivative_identity_by_finite_differences():
    x = np.linspace(-8, 8, 101)
    h = 1e-5
    numeric = (A.sigmoid(x + h) - A.sigmoid(x - h)) / (2 * h)
    np.testing.assert_allclose(A.sigmoid(x) * (1 - A.sigmoid(x)), numeric, atol=1e-10)


def test_extreme_logits_stay_finite():
    x = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
    for name in ("sigmoid", "tanh", "gelu"):
        f, df = A.get(name)
        assert np.all(np.isfinite(f(x))) and np.all(np.isfinite(df(x)))
    assert A.sigmoid(np.array([-1e4]))[0] == 0.0 and A.sigmoid(np.array([1e4]))[0] == 1.0
    assert np.all(np.isfinite(A.log_softmax(x)))
    np.testing.assert_allclose(A.softmax(x).sum(), 1.0)
    np.testing.assert_allclose(A.log_softmax(np.array([1e4, -1e4])), [0.0, -2e4])


@pytest.mark.parametrize("call, arg", [
    (lambda: A.get("swish"), "activation"),
    (lambda: A.softmax(np.ones(3), temperature=0.0), "temperature"),
    (lambda: A.softmax(np.ones(3), temperature=-1.0), "temperature"),
    (lambda: A.sigmoid(np.array([0.0, np.nan])), "x"),
    (lambda: A.softmax_jacobian(np.ones((2, 2))), "x"),
])
def test_bad_input_raises_value_error_naming_the_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


@given(x=arrays(np.float64, st.integers(1, 30), elements=st.floats(-1e3, 1e3, allow_nan=False)))
def test_gelu_tanh_matches_torch_approximate_tanh(x):
    t = torch.tensor(x, requires_grad=True)
    y = F.gelu(t, approximate="tanh")
    y.sum().backward()
    np.testing.assert_allclose(A.gelu_tanh(x), y.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(A.gelu_tanh_grad(x), t.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_gelu_tanh_is_close_to_exact_gelu_but_not_equal():
    x = np.linspace(-8, 8, 1601)
    gap = np.abs(A.gelu_tanh(x) - A.gelu(x)).max()
    assert 1e-5 < gap < 1e-3              # a real approximation, within 0.1% of the unit scale
    with pytest.raises(ValueError, match="x"):
        A.gelu_tanh(np.array([np.nan]))
