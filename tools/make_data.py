"""Write data/*.npz from scikit-learn's bundled datasets (run once; the files are committed).

After running, update the sha256 values in dlbook/data.py and data/README.md.
"""
import hashlib
import shutil
from pathlib import Path

import numpy as np
import sklearn.datasets as sd

DATA = Path(__file__).resolve().parents[1] / "data"


def main():
    loaders = {"digits": sd.load_digits, "iris": sd.load_iris, "wine": sd.load_wine,
               "breast_cancer": sd.load_breast_cancer, "diabetes": sd.load_diabetes}
    for name, loader in loaders.items():
        b = loader()
        X, y = b.data, b.target
        if name == "digits":  # grey levels 0..16 fit a byte
            X, y = X.astype(np.uint8), y.astype(np.uint8)
        names = getattr(b, "feature_names", None)
        arrays = {"X": X, "y": y, "feature_names": np.array(list(names) if names is not None else [], dtype=str)}
        if hasattr(b, "target_names"):
            arrays["target_names"] = np.array(b.target_names, dtype=str)
        np.savez_compressed(DATA / f"{name}.npz", **arrays)
    for image in ("china.jpg", "flower.jpg"):
        shutil.copy(Path(sd.__file__).parent / "images" / image, DATA / image)
    for f in sorted(DATA.glob("*.*")):
        if f.suffix != ".md":
            print(f.name, hashlib.sha256(f.read_bytes()).hexdigest())


if __name__ == "__main__":
    main()
