"""Exceptions shared by every part of robustbias.

``InvalidParameter`` subclasses ``ValueError`` so that ``except ValueError`` keeps working;
``ConvergenceError`` subclasses ``RuntimeError`` and carries the evidence of the failed solve.

Both survive pickling (a worker process of a parallel sweep sends them back to the parent): ``__reduce__``
returns the class, the constructor arguments and the instance ``__dict__``, so every attribute, including ones
added later (``diagnostics``, ...), comes back unchanged and ``str(exc)`` is the same on both sides.
"""
from __future__ import annotations

from typing import Any


class InvalidParameter(ValueError):
    """A user-supplied parameter is outside its valid range; the message names it (a ``ValueError``).

    Raised before any work is done, so ``except ValueError`` catches every bad input.

    Parameters
    ----------
    name : str
        The offending parameter, as the user wrote it (``"alpha"``, ``"--data"``, ...).
    message : str
        What is wrong with it, without the name.

    Attributes
    ----------
    parameter : str
        ``name``.
    message : str
        ``message``.

    Examples
    --------
    >>> import asymptotics
    >>> try:
    ...     asymptotics.solve(alpha=-1.0, eps=0.1, lam=0.1)
    ... except ValueError as err:
    ...     print(type(err).__name__, "|", err)
    InvalidParameter | alpha: must be > 0.0, got -1.0
    """

    def __init__(self, name: str, message: str):
        self.parameter = name
        self.message = message
        super().__init__(f"{name}: {message}")

    def __reduce__(self):
        return type(self), (self.parameter, self.message), dict(self.__dict__)


class ConvergenceError(RuntimeError):
    """An iterative solver stopped without meeting its tolerance (it never returns silently wrong numbers).

    Parameters
    ----------
    message : str
        What did not converge.
    last_iterate : dict or numpy.ndarray, optional
        The last state reached.
    residuals : list of float, optional
        The residual of each iteration.
    hint : str, optional
        What to try next (more damping, a warm start, a smaller step, ...); appended to the message.
    diagnostics : dict, optional
        Solver-specific evidence (for the fixed point: the zero test's verdict, the number of starts tried, the
        failed steps by kind and the best residual reached).

    Attributes
    ----------
    last_iterate, residuals, hint, diagnostics
        As given.

    Examples
    --------
    >>> from asymptotics import ConvergenceError
    >>> err = ConvergenceError("no fixed point", residuals=[1.0, 0.5], hint="more damping")
    >>> str(err)
    'no fixed point (last residual 5.000e-01 after 2 iterations). Hint: more damping'
    """

    def __init__(self, message: str, *, last_iterate: Any = None, residuals=None, hint: str = "",
                 diagnostics: dict | None = None):
        self.last_iterate = last_iterate
        self.diagnostics = dict(diagnostics) if diagnostics else {}
        self.residuals = list(residuals) if residuals is not None else []
        self.hint = hint
        text = message
        if self.residuals:
            text += f" (last residual {self.residuals[-1]:.3e} after {len(self.residuals)} iterations)"
        if hint:
            text += f". Hint: {hint}"
        super().__init__(text)

    def __reduce__(self):
        # the full text as the message (no residuals or hint passed, so nothing is appended twice); the attributes
        # come back through the instance dict
        return type(self), (str(self),), dict(self.__dict__)
