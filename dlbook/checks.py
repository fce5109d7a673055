"""Argument checks shared by every module: bad input raises a ValueError that names the argument."""
import math
from numbers import Integral, Real

import numpy as np


def check_int(name, value, lo=None, hi=None):
    """An int (not a bool) in [lo, hi]; returns it as a Python int."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an int, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        if hi is None:
            raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
        if lo is None:
            raise ValueError(f"{name} must be an int <= {hi}, got {value!r}")
        raise ValueError(f"{name} must lie in [{lo}, {hi}], got {value!r}")
    return int(value)


def check_real(name, value, lo=-math.inf, hi=math.inf, lo_open=False, hi_open=False):
    """A finite real number (not a bool) in [lo, hi] (or open at either end); returns a float."""
    try:   # an int beyond the float range (10**400) overflows math.isfinite: not finite either
        finite = not isinstance(value, bool) and isinstance(value, Real) and math.isfinite(value)
    except OverflowError:
        finite = False
    if not finite:
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < lo or value > hi or (lo_open and value == lo) or (hi_open and value == hi):
        left, right = "(" if lo_open else "[", ")" if hi_open else "]"
        raise ValueError(f"{name} must lie in {left}{lo}, {hi}{right}, got {value!r}")
    return float(value)


def check_positive(name, value):
    """A finite real number > 0; returns it as a float."""
    value = check_real(name, value)
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return value


def check_choice(name, value, choices):
    """One of `choices`."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def finite_array(name, a, ndim=None):
    """A float64 array with no NaN or inf (and `ndim` dimensions if given)."""
    a = np.asarray(a, dtype=np.float64)
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return a


def check_sizes(name, sizes):
    """Layer widths [d_in, h_1, ..., d_out]: at least two ints >= 1; returns a list of ints."""
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
        raise ValueError(f"{name} must be a sequence of layer widths, got {sizes!r}")
    sizes = [check_int(name, s, 1) for s in sizes]
    if len(sizes) < 2:
        raise ValueError(f"{name} must hold at least 2 layer widths, got {sizes!r}")
    return sizes


def check_Xy(X, y):
    """A finite 2-D X (n, p) and a finite 1-D y (n,) with one entry per row, n >= 1."""
    X, y = finite_array("X", X, 2), finite_array("y", y, 1)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"y must have one entry per row of X ({X.shape[0]}), got {y.shape[0]}")
    if X.shape[0] < 1:
        raise ValueError("X must have at least one row")
    return X, y
