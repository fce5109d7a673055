"""dlbook.init.gain against torch.nn.init.calculate_gain, and its one deliberate difference (issue 8)."""
import math

import pytest
import torch

from dlbook import init


@pytest.mark.parametrize("name, param", [("linear", None), ("conv1d", None), ("conv2d", None),
                                         ("conv3d", None), ("sigmoid", None), ("tanh", None),
                                         ("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2),
                                         ("leaky_relu", 0.0), ("leaky_relu", 3.0), ("selu", None)])
def test_gain_equals_torch(name, param):
    assert init.gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param),
                                                   rel=1e-15)


@pytest.mark.parametrize("name", ["conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "Relu"])
def test_unsupported_names_raise_where_torch_may_not(name):
    # Deliberate difference (docstring): torch returns 1 for conv_transpose*; we raise.
    with pytest.raises(ValueError, match="nonlinearity"):
        init.gain(name)
    with pytest.raises(ValueError, match="param"):
        init.gain("leaky_relu", math.nan)
