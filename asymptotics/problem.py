"""The shared "point": one validated problem specification used by theory, simulation and figures.

``Problem.from_point(alpha=1, eps=0.3, lam=0.05, attack="linf", reg="l2", loss="logistic")`` parses strings into
Attack / Regularizer / Loss objects once, checks every parameter before any work, and derives the spectral
description the solver needs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from . import validation as V
from .data import DataModel, Spectra, joint_spectra, parse_data
from .errors import InvalidParameter
from .geometry import Attack, parse_attack
from .losses import Loss, parse_loss
from .regularizers import Regularizer, parse_regularizer


@dataclass(frozen=True)
class Problem:
    """One point of the problem, parsed and validated: the sample ratio, attack, regularizer, loss and data model.

    The API boundary turns the keyword arguments of a point (``solve(alpha=..., eps=..., attack="linf", ...)``) into
    this object once, with :meth:`from_point`; every view (theory, simulation) reads it.

    Parameters
    ----------
    alpha : float
        Sample ratio ``n/d`` (> 0).
    eps : float
        Training attack size (>= 0): the objective has ``loss(y w.x/sqrt(d) - eps A(w))``.
    lam : float
        Regularization strength (>= 0): ``+ lam R(w)``.
    attack : Attack
        Training attack geometry.
    reg : Regularizer
        The regularizer ``R``.
    loss : Loss
        The margin loss.
    data : DataModel
        Data and teacher model.
    eps_test : float
        Test-time attack size (default in :meth:`from_point`: ``eps``).
    attack_test : Attack
        Test-time attack geometry (default: ``attack``).
    spectra : Spectra
        The joint spectra of the covariances (internal; built by :meth:`from_point`).

    Examples
    --------
    >>> from asymptotics import Problem
    >>> pb = Problem.from_point(alpha=1.0, eps=0.1, lam=0.1, attack="l2")
    >>> pb.point()["attack"], pb.eps_test
    ('l2', 0.1)
    """
    alpha: float
    eps: float
    lam: float
    attack: Attack
    reg: Regularizer
    loss: Loss
    data: DataModel
    eps_test: float
    attack_test: Attack
    spectra: Spectra = field(repr=False, compare=False)

    @classmethod
    def from_point(cls, alpha, eps, lam, attack="linf", reg="l2", loss="logistic", data=None, eps_test=None,
                   attack_test=None) -> "Problem":
        alpha = V.positive("alpha", alpha)
        eps = V.nonnegative("eps", eps)
        lam = V.nonnegative("lam", lam)
        attack = parse_attack(attack)
        reg = parse_regularizer(reg)
        loss = parse_loss(loss)
        data = parse_data(data)
        eps_test = eps if eps_test is None else V.nonnegative("eps_test", eps_test)
        attack_test = attack if attack_test is None else parse_attack(attack_test)
        if math.isinf(attack_test.dual_exponent) and not math.isinf(attack.dual_exponent) and eps_test > 0:
            raise InvalidParameter("attack_test", "an l1 test attack needs ||w||_inf, which diverges as d -> infinity "
                                                  "unless training used an l1 attack too")
        quadratic = reg.r == 2.0 and attack.dual_exponent == 2.0 and attack_test.dual_exponent == 2.0
        spectra = joint_spectra(data, reg, attack, attack_test, quadratic)
        return cls(alpha, eps, lam, attack, reg, loss, data, eps_test, attack_test, spectra)

    @property
    def rho_x(self) -> float:
        return self.spectra.teacher_field_variance

    def point(self) -> dict:
        """The inputs as plain JSON-able values (strings for the standard geometries)."""
        out = {"alpha": self.alpha, "eps": self.eps, "lam": self.lam, "attack": self.attack.name,
               "reg": self.reg.name, "loss": self.loss.name, "eps_test": self.eps_test,
               "attack_test": self.attack_test.name}
        if not self.data.isotropic or self.data.rho != 1.0 or self.data.tau != 0.0:
            out["data"] = self.data.to_dict()
        return out
