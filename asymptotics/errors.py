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
    """A user-supplied parameter is outside its valid range; the message names it.

    Attributes
    ----------
    parameter : the name of the offending parameter (as the user wrote it: ``"alpha"``, ``"--data"``, ...)
    message : what is wrong with it (without the name)
    """

    def __init__(self, name: str, message: str):
        self.parameter = name
        self.message = message
        super().__init__(f"{name}: {message}")

    def __reduce__(self):
        return type(self), (self.parameter, self.message), dict(self.__dict__)


class ConvergenceError(RuntimeError):
    """An iterative solver stopped without meeting its tolerance.

    Attributes
    ----------
    last_iterate : the last state reached (dict of floats or array)
    residuals : list of residuals, one per iteration
    hint : what to try next (more damping, a warm start, a smaller step, ...)
    diagnostics : dict of solver-specific evidence (for the fixed point: the zero test's verdict, the number of
        starts tried, the failed steps by kind and the best residual reached)
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
