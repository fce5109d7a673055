"""dlbook.checks: the shared argument checks accept good values and name the bad argument."""
import math

import numpy as np
import pytest

from dlbook import checks


def test_good_values_pass_through_converted():
    assert checks.check_int("n", np.int64(3), lo=1) == 3 and type(checks.check_int("n", 3)) is int
    assert checks.check_real("x", np.float32(0.5), lo=0, hi=1) == 0.5
    assert checks.check_positive("lr", 1e-3) == 1e-3
    assert checks.check_choice("mode", "a", ("a", "b")) == "a"
    np.testing.assert_array_equal(checks.finite_array("X", [[1, 2]], ndim=2), [[1.0, 2.0]])
    assert checks.check_sizes("sizes", (np.int64(64), 16, 10)) == [64, 16, 10]
    X, y = checks.check_Xy([[1, 2], [3, 4]], [5, 6])
    assert X.dtype == y.dtype == np.float64 and X.shape == (2, 2) and y.shape == (2,)


@pytest.mark.parametrize("call, arg", [
    (lambda: checks.check_int("depth", 2.0), "depth"),
    (lambda: checks.check_int("depth", True), "depth"),
    (lambda: checks.check_int("depth", 0, lo=1), "depth"),
    (lambda: checks.check_int("depth", 9, hi=8), "depth"),
    (lambda: checks.check_real("p", math.nan), "p"),
    (lambda: checks.check_real("p", math.inf), "p"),
    (lambda: checks.check_real("p", "0.5"), "p"),
    (lambda: checks.check_real("p", 1.5, hi=1.0), "p"),
    (lambda: checks.check_positive("lr", 0.0), "lr"),
    (lambda: checks.check_positive("lr", -1e-3), "lr"),
    (lambda: checks.check_choice("mode", "c", ("a", "b")), "mode"),
    (lambda: checks.finite_array("X", [1.0, np.nan]), "X"),
    (lambda: checks.check_sizes("sizes", [64]), "sizes"),
    (lambda: checks.check_sizes("sizes", [64, 0, 10]), "sizes"),
    (lambda: checks.check_sizes("widths", [64, 2.5]), "widths"),
    (lambda: checks.check_Xy(np.zeros(3), np.zeros(3)), "X"),
    (lambda: checks.check_Xy(np.zeros((3, 2)), np.zeros(4)), "y"),
    (lambda: checks.check_Xy(np.zeros((3, 2)), [0.0, np.inf, 1.0]), "y"),
    (lambda: checks.check_Xy(np.zeros((0, 2)), np.zeros(0)), "X"),
    (lambda: checks.finite_array("X", [1.0, 2.0], ndim=2), "X"),
])
def test_bad_values_raise_value_error_naming_the_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()


@pytest.mark.parametrize("call, arg", [
    (lambda: checks.check_real("lr", 10 ** 400), "lr"),           # int too large for a float
    (lambda: checks.check_real("lr", -(10 ** 400)), "lr"),
    (lambda: checks.check_positive("lr", 10 ** 400), "lr"),
    (lambda: checks.check_sizes("sizes", 5), "sizes"),           # not a sequence
    (lambda: checks.check_sizes("sizes", None), "sizes"),
])
def test_huge_ints_and_non_sequences_raise_value_error(call, arg):
    # Issue 8, defect 10: OverflowError / TypeError escaped before.
    with pytest.raises(ValueError, match=arg):
        call()
