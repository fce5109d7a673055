"""Small helpers shared by the modules: random generators and a one-thread BLAS block."""
from contextlib import contextmanager

import numpy as np


def as_generator(rng):
    """A NumPy Generator from a Generator, a seed or None (fresh entropy)."""
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


@contextmanager
def one_blas_thread():
    """Run BLAS on one thread inside the block (via threadpoolctl, if installed): small matrix
    products are faster without threads, especially on a busy machine."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # threadpoolctl comes with scikit-learn; without it, change nothing
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
