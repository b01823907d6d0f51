"""Random streams: one ``numpy.random.SeedSequence`` tree, an independent child per seed and per role.

Every random draw in :mod:`simulate` goes through :func:`generator`. The stream of (``base``, ``seed``, ``role``)
is ``SeedSequence(base, spawn_key=(seed, ROLES[role]))``: children with different spawn keys are statistically
independent (numpy's guarantee for the SeedSequence tree), so

* the teacher, the training set and the test set of one seed never share random numbers (the public code draws
  train and test from one ``np.random.seed(0)`` stream and so reuses rows, spec implicit_bias_robust §1.3);
* seed ``k`` gives the same numbers whatever other seeds run, in any order or on any number of workers.
"""
from __future__ import annotations

import numpy as np

from asymptotics import validation as V
from asymptotics.errors import InvalidParameter

#: the roles of a simulation seed and their spawn-key index
ROLES = {"teacher": 0, "train": 1, "test": 2, "init": 3, "attack": 4}

#: default root entropy of the package's simulations (any fixed integer; the user can pass another)
DEFAULT_BASE = 20_241_118


def sequence(seed: int, role: str, base: int = DEFAULT_BASE) -> np.random.SeedSequence:
    """The SeedSequence of one (seed, role) pair.

    Parameters
    ----------
    seed : int >= 0
        Repetition index.
    role : {"teacher", "train", "test", "init", "attack"}
    base : int >= 0
        Root entropy shared by every stream of an experiment.

    Examples
    --------
    >>> generator(0, "train").normal() != generator(0, "test").normal()
    True
    """
    seed = V.integer("seed", seed, low=0)
    base = V.integer("base", base, low=0)
    if role not in ROLES:
        raise InvalidParameter("role", f"must be one of {sorted(ROLES)}, got {role!r}")
    return np.random.SeedSequence(base, spawn_key=(seed, ROLES[role]))


def generator(seed: int, role: str, base: int = DEFAULT_BASE) -> np.random.Generator:
    """A fresh ``numpy.random.Generator`` (PCG64) on the stream of (base, seed, role)."""
    return np.random.Generator(np.random.PCG64(sequence(seed, role, base)))
