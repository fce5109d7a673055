"""dlbook.data: every registered file verifies; a corrupted or missing file is refused clearly."""
import shutil

import numpy as np
import pytest

from dlbook import data


@pytest.mark.parametrize("filename", sorted(data.REGISTRY))
def test_registered_files_match_their_checksums(filename):
    assert data.sha256(data.path(filename)) == data.REGISTRY[filename]


def test_registry_and_readme_list_the_same_checksums():
    readme = (data.data_dir() / "README.md").read_text()
    for filename, digest in data.REGISTRY.items():
        assert f"`{filename}`" in readme and digest in readme


def test_loaders_return_the_documented_shapes():
    X, y = data.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,)
    assert X.min() == 0.0 and X.max() == 1.0 and set(np.unique(y)) == set(range(10))
    sizes = {"iris": (150, 4), "wine": (178, 13), "breast_cancer": (569, 30), "diabetes": (442, 10)}
    for name, shape in sizes.items():
        X, y = data.load_dataset(name)
        assert X.shape == shape and len(y) == shape[0]
    img = data.load_image("flower")
    assert img.shape == (427, 640, 3) and 0.0 <= img.min() and img.max() <= 1.0


def test_corrupted_file_is_refused(tmp_path):
    shutil.copy(data.path("iris.npz"), tmp_path / "iris.npz")
    with open(tmp_path / "iris.npz", "r+b") as f:
        f.seek(100)
        byte = f.read(1)
        f.seek(100)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ValueError, match="sha256"):
        data.load_dataset("iris", directory=tmp_path)


def test_missing_file_and_unknown_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        data.load_dataset("wine", directory=tmp_path)
    with pytest.raises(ValueError, match="name"):
        data.load_dataset("mnist")
    with pytest.raises(ValueError, match="name"):
        data.load_image("lena")
    with pytest.raises(ValueError, match="filename"):
        data.path("mnist.npz")
