"""The numeric environment dev.py pins for every kernel (NUMERIC_ENV) really takes effect: torch
dispatches to AVX2, NumPy's SIMD loops and OpenBLAS use their AVX2 kernels, one thread each. On a
machine with AVX-512 the pinned results also differ from the unpinned ones, which shows each
variable is honoured rather than silently ignored."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("dev", ROOT / "dev.py")
dev = importlib.util.module_from_spec(spec)
spec.loader.exec_module(dev)

PROBE = r"""
import json
import numpy as np, torch
from numpy._core._multiarray_umath import __cpu_features__ as npy
from threadpoolctl import threadpool_info
g = torch.Generator().manual_seed(0)
a, b = torch.randn(257, 263, generator=g), torch.randn(263, 129, generator=g)
x = torch.randn(100_000, generator=g)
rng = np.random.default_rng(0)
A, B = rng.standard_normal((257, 263), dtype=np.float32), rng.standard_normal((263, 129), dtype=np.float32)
xs = rng.standard_normal(100_001, dtype=np.float32)
blas = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
print(json.dumps({
    "torch_capability": torch.backends.cpu.get_cpu_capability(),
    "torch_threads": torch.get_num_threads(),
    "npy_x86_v4": bool(npy.get("X86_V4")), "npy_x86_v3": bool(npy.get("X86_V3")),
    "npy_avx512_machine": bool(npy.get("AVX512F")),
    "openblas_core": blas[0]["architecture"] if blas else None,
    "openblas_threads": blas[0]["num_threads"] if blas else None,
    # float32 results as exact hex strings: MKL sgemm (torch), MKL VML tanh (torch), OpenBLAS
    # sgemm (NumPy) and NumPy's own SIMD arctan (its AVX-512 and AVX2 loops round differently).
    "torch_matmul": (a @ b).double().pow(2).sum().item().hex(),
    "torch_tanh": torch.tanh(x).double().sum().item().hex(),
    "numpy_matmul": float(((A @ B).astype(np.float64) ** 2).sum()).hex(),
    "numpy_arctan": float(np.arctan(xs).astype(np.float64).sum()).hex(),
}))
"""


def probe(numeric):
    env = dev.kernel_env(numeric)
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def pinned():
    return probe(dev.NUMERIC_ENV)


def test_pinned_environment_dispatches_to_avx2_on_one_thread(pinned):
    print("pinned:", pinned)
    assert pinned["torch_capability"] == "AVX2"
    assert pinned["torch_threads"] == 1
    assert not pinned["npy_x86_v4"] and pinned["npy_x86_v3"]
    assert pinned["openblas_core"] == "Haswell" and pinned["openblas_threads"] == 1


def test_pinned_results_do_not_depend_on_which_process_computes_them(pinned):
    assert probe(dev.NUMERIC_ENV) == pinned


def test_perturbed_environment_really_is_different(pinned):
    perturbed = probe(dev.PERTURBED_ENV)
    assert perturbed["torch_capability"] == "DEFAULT"
    assert not perturbed["npy_x86_v3"]
    assert perturbed["openblas_core"] == "Nehalem" and perturbed["openblas_threads"] == 2
    # SSE versus AVX2 kernels: MKL's and OpenBLAS's float32 products change in their last bits.
    assert perturbed["torch_matmul"] != pinned["torch_matmul"]
    assert perturbed["numpy_matmul"] != pinned["numpy_matmul"]


@pytest.mark.parametrize("names, key", [
    (["MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR"], "torch_matmul"),
    (["MKL_ENABLE_INSTRUCTIONS", "MKL_CBWR"], "torch_tanh"),
    (["NPY_DISABLE_CPU_FEATURES"], "numpy_arctan"),
])
def test_each_pin_takes_effect_on_an_avx512_machine(pinned, names, key):
    """Without the pin an AVX-512 machine takes its AVX-512 path and rounds differently."""
    if not pinned["npy_avx512_machine"]:
        pytest.skip("this CPU has no AVX-512: pinned and unpinned paths coincide")
    unpinned = probe({k: v for k, v in dev.NUMERIC_ENV.items() if k not in names})
    assert unpinned[key] != pinned[key], f"{names} changed nothing in {key}"
