"""Edge cases of dlbook.transfer.linear_probe (issue 8): non-finite features raise a ValueError
naming the argument that holds them."""
import math

import numpy as np
import pytest

from dlbook import transfer


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("arg", ["F_train", "F_test"])
def test_non_finite_features_raise_naming_the_argument(bad, arg):
    # Defect 10: NaN in F_train raised an error naming `x` (scipy's); inf in F_test was accepted.
    rng = np.random.default_rng(0)
    data = {"F_train": rng.standard_normal((12, 3)), "F_test": rng.standard_normal((5, 3))}
    y_train, y_test = np.arange(12) % 3, np.arange(5) % 3
    data[arg][1, 2] = bad
    with pytest.raises(ValueError, match=arg):
        transfer.linear_probe(data["F_train"], y_train, data["F_test"], y_test)
