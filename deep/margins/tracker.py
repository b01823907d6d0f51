"""A callback that logs every margin flavor, norms, loss, alignment, accuracies and KKT residuals on a schedule."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from asymptotics.errors import InvalidParameter
from asymptotics.validation import integer

from ..optim.norms import parse_norm
from .kkt import kkt_residual_network
from .margins import alignment, margin_report, model_order, output_margins


def log_schedule(total_steps: int, points: int) -> list[int]:
    """About ``points`` distinct steps, log-spaced in [0, total_steps] (0 and total_steps included).

    Parameters
    ----------
    total_steps : int
        The last step.
    points : int
        How many steps to aim for (>= 2).

    Returns
    -------
    list of int
        Sorted, distinct.

    Examples
    --------
    >>> from deep.margins import log_schedule
    >>> log_schedule(1000, 5)
    [0, 5, 31, 177, 1000]
    """
    integer("total_steps", total_steps, low=1)
    integer("points", points, low=2)
    grid = np.unique(np.round(np.geomspace(1, total_steps + 1, points) - 1).astype(int))
    return sorted(set(grid.tolist()) | {0, total_steps})


class MarginTracker:
    """Log margins on a schedule: call ``tracker(step)`` after every optimizer step (it decides whether to log).

    Parameters
    ----------
    model : torch.nn.Module
        Homogeneous model (``model.order`` or ``order=``).
    X, y : tensors
        Training data.
    every : int or None
        Log when ``step % every == 0``.
    steps : sequence of int or None
        Explicit schedule (e.g. :func:`log_schedule`); overrides ``every``.
    norms : sequence
        Flavors to log (``"l1"``, ``"l2"``, ``"linf"``, ``"spectral"``, ``"l<p>"``).
    loss : {"exp", "logistic"}
        The loss whose smoothed margin is logged.
    order : float, optional
        Homogeneity order (default ``model.order``).
    X_test, y_test : tensors, optional
        Held-out data for test accuracy.
    alignment_norms : sequence
        Norms in which the alignment beta is logged (one gradient each).
    kkt_norms : sequence
        Norms in which :func:`kkt_residual_network` is logged once the data is fitted (costly; empty by default).
    kkt_tau : float, optional
        Near-active tolerance of the KKT multipliers.

    Notes
    -----
    ``history`` maps each key of :func:`margin_report` plus ``step``, ``test_accuracy``, ``beta_<norm>`` and
    ``kkt_<norm>_<field>`` to a list (NaN where not applicable, e.g. KKT before perfect training accuracy).

    Examples
    --------
    >>> import torch
    >>> from deep.models import DiagonalNet
    >>> net = DiagonalNet(2, depth=1, parametrization="product")          # f(x) = <w, x>, order 1
    >>> with torch.no_grad():
    ...     _ = net.factors[0].copy_(torch.tensor([1.0, 0.0]))
    >>> X = torch.tensor([[1.0, 0.0], [-2.0, 1.0]]); y = torch.tensor([1.0, -1.0])    # margins q = (1, 2)
    >>> from deep.margins import MarginTracker
    >>> tracker = MarginTracker(net, X, y, every=10, norms=("l2",))
    >>> for step in (0, 5, 10):                 # logs at steps 0 and 10 (and returns what it logged)
    ...     _ = tracker(step)
    >>> tracker.history["step"], tracker.history["margin_l2"]
    ([0, 10], [1.0, 1.0])
    """

    def __init__(self, model, X, y, every: int | None = 10, steps: Sequence[int] | None = None,
                 norms: Sequence = ("l1", "l2", "linf"), loss: str = "exp", order=None, X_test=None, y_test=None,
                 alignment_norms: Sequence = (), kkt_norms: Sequence = (), kkt_tau: float | None = None):
        if steps is None and every is None:
            raise InvalidParameter("every", "give every= or steps=")
        if steps is None:
            integer("every", every, low=1)
        self.model, self.X, self.y = model, X, y
        self.every = every
        self.steps = None if steps is None else set(int(s) for s in steps)
        self.norms = [parse_norm(n).name for n in norms]
        self.loss = loss
        self.order = model_order(model, order)
        self.X_test, self.y_test = X_test, y_test
        self.alignment_norms = [parse_norm(n).name for n in alignment_norms]
        self.kkt_norms = [parse_norm(n).name for n in kkt_norms]
        self.kkt_tau = kkt_tau
        self.history: dict[str, list] = {}

    def due(self, step: int) -> bool:
        if self.steps is not None:
            return int(step) in self.steps
        return int(step) % self.every == 0

    def _append(self, key, value):
        self.history.setdefault(key, []).append(value)

    def __call__(self, step: int) -> dict | None:
        if not self.due(step):
            return None
        return self.log(step)

    def log(self, step: int) -> dict:
        """Log now, whatever the schedule; return the row."""
        row = {"step": int(step)}
        row.update(margin_report(self.model, self.X, self.y, self.norms, self.order, self.loss))
        if self.X_test is not None:
            with torch.no_grad():
                row["test_accuracy"] = float((output_margins(self.model(self.X_test), self.y_test) > 0)
                                             .double().mean())
        for norm in self.alignment_norms:
            row[f"beta_{norm}"] = alignment(self.model, self.X, self.y, norm, self.loss)
        for norm in self.kkt_norms:
            if row["q_min"] > 0:
                res = kkt_residual_network(self.model, self.X, self.y, norm, self.order, tau=self.kkt_tau)
                row[f"kkt_{norm}_alignment_gap"] = res.alignment_gap
                row[f"kkt_{norm}_stationarity"] = res.stationarity
            else:
                row[f"kkt_{norm}_alignment_gap"] = math.nan
                row[f"kkt_{norm}_stationarity"] = math.nan
        for key, value in row.items():
            self._append(key, value)
        return row

    def to_dict(self) -> dict:
        return {k: list(v) for k, v in self.history.items()}
