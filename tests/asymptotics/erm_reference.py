"""A small cvxpy reference of finite-d robust ERM for the theory tests (the simulate package has the fast one).

Objective: sum_i l(y_i x_i.w/sqrt(d) - eps A(w)) + lam R(w), with A and R from the asymptotics objects' conventions.
"""
import cvxpy as cp
import numpy as np

from asymptotics import Problem
from asymptotics.geometry import expand_spectrum


def sample(pb: Problem, d: int, seed: int):
    rng = np.random.default_rng(seed)
    n = int(round(pb.alpha * d))
    s = expand_spectrum(pb.data.cov_x, d) if pb.data.cov_x is not None else np.ones(d)
    t = pb.data.rho * (expand_spectrum(pb.data.cov_teacher, d) if pb.data.cov_teacher is not None else np.ones(d))
    theta = rng.normal(size=d) * np.sqrt(t)
    X = rng.normal(size=(n, d)) * np.sqrt(s)
    y = np.sign(X @ theta / np.sqrt(d) + pb.data.tau * rng.normal(size=n))
    return X, y, theta, s


def erm_overlaps(pb: Problem, d: int, seed: int):
    """(m, q, P, ||w||_2^2/d) of the cvxpy minimiser on one sample (Clarabel)."""
    X, y, theta, s = sample(pb, d, seed)
    w = cp.Variable(d)
    att, reg = pb.attack, pb.reg
    if att.kind == "mahalanobis":
        b = expand_spectrum(att.covariance, d)
        A = cp.norm(cp.multiply(np.sqrt(b), w)) / np.sqrt(d)
    elif np.isinf(att.dual_exponent):
        A = cp.norm(w, "inf")
    else:
        ps = att.dual_exponent
        A = cp.norm(w, ps) / d ** (1 / ps)
    margin = cp.multiply(y, X @ w) / np.sqrt(d) - pb.eps * A
    loss = {"logistic": lambda u: cp.sum(cp.logistic(-u)), "hinge": lambda u: cp.sum(cp.pos(1 - u)),
            "exponential": lambda u: cp.sum(cp.exp(-u))}[pb.loss.name](margin)
    if reg.kind == "mahalanobis":
        R = cp.sum(cp.multiply(expand_spectrum(reg.covariance, d), cp.square(w)))
    elif reg.r == 1:
        R = cp.norm1(w)
    else:
        R = cp.sum(cp.power(cp.abs(w), reg.r))
    cp.Problem(cp.Minimize(loss + pb.lam * R)).solve(solver=cp.CLARABEL)
    wv = w.value
    return np.array([wv @ (s * theta) / d, wv @ (s * wv) / d, att.functional(wv), wv @ wv / d])
