"""Write the sample data files of ``examples/`` (run from anywhere: ``python examples/make_examples.py``).

* ``gaussian_small.npz`` -- 200 points in d = 50 from the package's data model (x ~ N(0, I_d), a Gaussian teacher
  theta, y = sign(theta.x/sqrt(d))): for ``robustbias bound --data examples/gaussian_small.npz``.
* ``separable_small.npz`` -- 40 points in d = 20 whose labels y = sign(x_1) are separated by a gap: |x_1| >= 1 for
  every point, so w = e_1 separates them with a margin >= 1 that survives linf attacks of radius eps < 1:
  for ``robustbias margin --data examples/separable_small.npz --eps 0.1``.

Both files hold exactly two float64 arrays, ``X`` (n, d) and ``y`` (n,) in {-1, +1}, the format every ``--data``
option reads. The generator is seeded, so rerunning the script rewrites the same arrays (a test in
tests/docs/test_readme_commands.py checks it).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 20260101


def gaussian_small(rng: np.random.Generator, n: int = 200, d: int = 50) -> dict:
    theta = rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    y = np.where(X @ theta / np.sqrt(d) >= 0, 1.0, -1.0)
    return {"X": X, "y": y}


def separable_small(rng: np.random.Generator, n: int = 40, d: int = 20, gap: float = 1.0) -> dict:
    X = rng.standard_normal((n, d))
    y = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    X[:, 0] = y * (gap + np.abs(X[:, 0]))
    return {"X": X, "y": y}


def write(folder: Path = HERE) -> list[Path]:
    """Write both files into ``folder``; return their paths."""
    rng = np.random.default_rng(SEED)
    paths = []
    for name, make in (("gaussian_small", gaussian_small), ("separable_small", separable_small)):
        path = Path(folder) / f"{name}.npz"
        np.savez(path, **make(rng))
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(f"wrote {p}")
