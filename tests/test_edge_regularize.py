"""Edge cases of dlbook.regularize dropout (issue 8): the uniform draws `u` must have x's shape."""
import numpy as np
import pytest
import torch

from dlbook import regularize


@pytest.mark.parametrize("u_shape", [(2, 3, 4), (4,), (3, 1), (4, 3)])
def test_classic_dropout_checks_the_shape_of_u(u_shape):
    # Defect 9: a (2, 3, 4) u for a (3, 4) x broadcast to a (2, 3, 4) output.
    x, u = np.ones((3, 4)), np.full(u_shape, 0.5)
    for fn, arg in ((regularize.classic_dropout, 0.5), (regularize.dropout, 0.5)):
        with pytest.raises(ValueError, match="u"):
            fn(x, arg, u=u)


def test_classic_dropout_with_u_matches_torch_bernoulli_mask():
    # same uniforms: keep where u < keep, no rescaling in training; inference multiplies by keep
    rng = np.random.default_rng(0)
    x, u = rng.standard_normal((3, 4)), rng.random((3, 4))
    keep = 0.7
    ref = torch.tensor(x) * (torch.tensor(u) < keep).double()
    np.testing.assert_array_equal(regularize.classic_dropout(x, keep, u=u), ref.numpy())
    np.testing.assert_array_equal(regularize.classic_dropout(x, keep, training=False), keep * x)
