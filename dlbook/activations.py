"""Activation functions and their derivatives, in NumPy, stable for very large |x|.

Each `f(x)` works elementwise on any array shape (softmax/log_softmax along `axis`);
`f_grad(x)` is df/dx elementwise. Names and conventions follow `torch.nn.functional`.
"""
import math

import numpy as np


def _as_float_array(x, name="x"):
    x = np.asarray(x, dtype=np.float64)
    if np.isnan(x).any():
        raise ValueError(f"{name} contains NaN")
    return x


def sigmoid(x):
    """σ(x) = 1 / (1 + e^(-x)), computed without overflow for x = ±1e4."""
    x = _as_float_array(x)
    # For x >= 0 use 1/(1+e^-x); for x < 0 use e^x/(1+e^x): both exponents are <= 0.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(x):
    """σ'(x) = σ(x)(1 − σ(x))."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x):
    """tanh(x) = (e^x − e^-x) / (e^x + e^-x)."""
    return np.tanh(_as_float_array(x))


def tanh_grad(x):
    """tanh'(x) = 1 − tanh(x)²."""
    return 1.0 - np.tanh(_as_float_array(x)) ** 2


def relu(x):
    """max(0, x)."""
    return np.maximum(_as_float_array(x), 0.0)


def relu_grad(x):
    """1 for x > 0 else 0 (PyTorch's choice at x = 0 is 0 too)."""
    return (_as_float_array(x) > 0).astype(np.float64)


def leaky_relu(x, negative_slope=0.01):
    """x for x > 0 else negative_slope · x."""
    x = _as_float_array(x)
    return np.where(x > 0, x, negative_slope * x)


def leaky_relu_grad(x, negative_slope=0.01):
    """1 for x > 0 else negative_slope."""
    return np.where(_as_float_array(x) > 0, 1.0, negative_slope)


def _erf(x):
    """Gauss error function: SciPy's vectorised one when present, else math.erf per element."""
    try:
        from scipy.special import erf
    except ImportError:  # NumPy-only installs
        return np.vectorize(math.erf, otypes=[np.float64])(x)
    return erf(x)


def gelu(x):
    """Exact GELU: x · Φ(x), Φ the standard normal CDF (torch's approximate='none')."""
    x = _as_float_array(x)
    return x * 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_grad(x):
    """GELU'(x) = Φ(x) + x · φ(x)."""
    x = _as_float_array(x)
    phi = np.exp(-0.5 * x ** 2) / math.sqrt(2.0 * math.pi)
    return 0.5 * (1.0 + _erf(x / math.sqrt(2.0))) + x * phi


_GELU_C = math.sqrt(2.0 / math.pi)


def gelu_tanh(x):
    """GELU's tanh approximation ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (torch's approximate='tanh')."""
    x = _as_float_array(x)
    return 0.5 * x * (1.0 + np.tanh(_GELU_C * (x + 0.044715 * x ** 3)))


def gelu_tanh_grad(x):
    """d/dx of gelu_tanh: ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(...)."""
    x = _as_float_array(x)
    t = np.tanh(_GELU_C * (x + 0.044715 * x ** 3))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t ** 2) * _GELU_C * (1.0 + 3 * 0.044715 * x ** 2)


def identity(x):
    """The linear 'activation' f(x) = x."""
    return _as_float_array(x)


def identity_grad(x):
    return np.ones_like(_as_float_array(x))


def log_softmax(x, axis=-1):
    """log softmax(x) = x − max − log Σ exp(x − max): finite for logits of ±1e4."""
    x = _as_float_array(x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(x, axis=-1, temperature=1.0):
    """softmax(x / T) along `axis`; T > 0 flattens (large T) or sharpens (small T) it."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    return np.exp(log_softmax(_as_float_array(x) / temperature, axis=axis))


def softmax_jacobian(x):
    """J[i, j] = ∂softmax_i/∂x_j = s_i (δ_ij − s_j) for a 1-D vector x."""
    x = _as_float_array(x)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {x.shape}")
    s = softmax(x)
    return np.diag(s) - np.outer(s, s)


# name -> (f, f') for the elementwise activations; used by dropdowns and deep-net simulations
ACTIVATIONS = {
    "linear": (identity, identity_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "gelu": (gelu, gelu_grad),
}


def get(name):
    """(f, f') for an activation name; ValueError naming `activation` if unknown."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]
