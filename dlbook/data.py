"""Small real datasets shipped in `data/`, loaded only after their sha256 checks out."""
import hashlib
import os
from pathlib import Path

import numpy as np

# file name -> sha256 of the committed file (also listed, with source and licence, in data/README.md)
REGISTRY = {
    "digits.npz": "7c88d34f7c913f8c2ec45261930b3ce1b7b7b74d1a794e26d8c37b2ce92c70e7",
    "iris.npz": "ad14fa4976961363f6a1f3762be37cecbe55f2c55d488f660bbdfed5610015ed",
    "wine.npz": "5fa2a65332939980bd901cc8be3f710e46f10b77b048f1130a4c21f463bb0df0",
    "breast_cancer.npz": "8f004072a1d26090da2b9f2dbfade246205b135705bfa96079806ac0e8994da9",
    "diabetes.npz": "43be06e2b439745b31421d518f627e31cabd77d1f55a850ecdf55fadb4c52b62",
    "china.jpg": "8378025ad2519d649d02e32bd98990db4ab572357d9f09841c2fbfbb4fefad29",
    "flower.jpg": "a77f6ec41e353afdf8bdff2ea981b2955535d8d83294f8cfa49cf4e423dd5638",
}


def data_dir():
    """The folder holding the data files: $DLBOOK_DATA, else `data/` beside the package."""
    return Path(os.environ.get("DLBOOK_DATA", Path(__file__).resolve().parents[1] / "data"))


def sha256(path):
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def path(filename, directory=None):
    """Path of a registered file after verifying its checksum; ValueError if missing or corrupted."""
    if filename not in REGISTRY:
        raise ValueError(f"filename {filename!r} is not a registered dataset; known: {sorted(REGISTRY)}")
    p = Path(directory) if directory is not None else data_dir()
    p = p / filename
    if not p.is_file():
        raise ValueError(f"filename {filename!r}: no such file {p} (is the repository's data/ folder present?)")
    digest = sha256(p)
    if digest != REGISTRY[filename]:
        raise ValueError(f"filename {filename!r}: sha256 {digest} does not match the registered "
                         f"{REGISTRY[filename]}; the file is corrupted or was changed")
    return p


TABLES = ("digits", "iris", "wine", "breast_cancer", "diabetes")
IMAGES = ("china", "flower")


def _check_name(name, known):
    if name not in known:
        raise ValueError(f"name must be one of {known}, got {name!r}")


def load_dataset(name, directory=None):
    """(X, y) of a tabular dataset: 'digits', 'iris', 'wine', 'breast_cancer' or 'diabetes'."""
    _check_name(name, TABLES)
    with np.load(path(f"{name}.npz", directory)) as z:
        return z["X"].astype(np.float64), z["y"].astype(np.int64 if name != "diabetes" else np.float64)


def load_digits(directory=None):
    """Handwritten digits: X (1797, 64) float64 scaled to [0, 1], y (1797,) int64 in 0..9."""
    X, y = load_dataset("digits", directory)
    return X / 16.0, y


def feature_names(name, directory=None):
    """Feature names of a tabular dataset (empty for digits)."""
    _check_name(name, TABLES)
    with np.load(path(f"{name}.npz", directory)) as z:
        return [str(s) for s in z["feature_names"]]


def load_image(name, directory=None):
    """A real photo ('china' or 'flower') as float64 RGB in [0, 1], shape (H, W, 3)."""
    from PIL import Image
    _check_name(name, IMAGES)
    with Image.open(path(f"{name}.jpg", directory)) as im:
        return np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0
