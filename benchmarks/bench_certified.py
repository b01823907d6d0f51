"""Cold solves over the random domain: the certified solver against a reference revision, in the same run.

Draws N points (fixed Generator) over alpha 0.01-100 (log), eps 0-1, lam 1e-4-10 (log), r in {1, 2, U[1, 4]},
p in {inf, 2, 1, U[1.05, 8]}, the four losses, and label noise / teacher norm on 30% of the points. Each point is
solved cold by the package under test (this checkout) and by a reference revision (default: 631740f, version 0.1,
checked out as a git worktree and run in a subprocess, one after the other), and the medians of the wall times are
compared. Where the reference returned w = 0 but the certified solver did not, the certified point is verified by
``asymptotics.verify_fixed_point`` (dispersed starts and a continuation path): those are the reference's wrong
collapses.

Usage::

    python benchmarks/bench_certified.py [--points 400] [--reference 631740f] [--out out/benchmarks/certified.json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def sample_point(rng: np.random.Generator) -> dict:
    """One point of the random domain (module docstring)."""
    u = rng.uniform()
    r = 1.0 if u < 0.3 else (2.0 if u < 0.45 else round(float(rng.uniform(1, 4)), 2))
    v = rng.uniform()
    attack = "linf" if v < 0.25 else "l2" if v < 0.45 else "l1" if v < 0.55 else f"l{rng.uniform(1.05, 8):.2f}"
    point = dict(alpha=float(10 ** rng.uniform(-2, 2)), eps=float(rng.uniform(0, 1)), lam=float(10 ** rng.uniform(-4, 1)),
                 attack=attack, reg=f"l{r:g}", loss=str(rng.choice(["logistic", "hinge", "square", "exponential"])))
    if rng.uniform() < 0.3:
        point["data"] = dict(rho=float(rng.uniform(0.3, 3)), tau=float(rng.uniform(0, 1)))
    return point


def time_cold_solves(points: list[dict]) -> list[dict]:
    """Solve each point cold with the ``asymptotics`` on sys.path; wall time, status and (m, q, V, P)."""
    import asymptotics

    asymptotics.solve(alpha=1.0, eps=0.3, lam=0.05, attack="linf", reg="l1")       # load compiled kernels
    asymptotics.solve(alpha=1.0, eps=0.3, lam=0.05, attack="l3", reg="l1.5", loss="hinge")
    out = []
    for point in points:
        t0 = time.perf_counter()
        try:
            fp = asymptotics.solve(**point)
            rec = {"status": "zero" if fp.trivial else "solved", "state": [fp.m, fp.q, fp.V, fp.P]}
        except asymptotics.ConvergenceError as exc:
            rec = {"status": "error", "error": str(exc)[:200]}
        rec["seconds"] = time.perf_counter() - t0
        out.append(rec)
    return out


def _reference_run(rev: str, points: list[dict]) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "ref"
        subprocess.run(["git", "worktree", "add", "--detach", "-f", str(tree), rev], cwd=ROOT, check=True,
                       capture_output=True)
        try:
            (Path(tmp) / "points.json").write_text(json.dumps(points))
            code = ("import json, sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]); "
                    "from bench_certified import time_cold_solves; "
                    "pts = json.load(open(sys.argv[3])); print(json.dumps(time_cold_solves(pts)))")
            run = subprocess.run([sys.executable, "-c", code, str(tree), str(ROOT / "benchmarks"),
                                  str(Path(tmp) / "points.json")], capture_output=True, text=True, check=True,
                                 cwd=tmp)
            return json.loads(run.stdout.strip().splitlines()[-1])
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, capture_output=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=400)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--reference", default="631740f", help="git revision to compare with (default: version 0.1)")
    ap.add_argument("--out", default="out/benchmarks/certified.json")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    points = [sample_point(rng) for _ in range(args.points)]
    sys.path.insert(0, str(ROOT))
    ours = time_cold_solves(points)
    reference = _reference_run(args.reference, points)

    import asymptotics

    wrong = []
    for point, a, b in zip(points, ours, reference):
        if b["status"] == "zero" and a["status"] == "solved":
            check = asymptotics.verify_fixed_point(asymptotics.solve(**point))
            if check.agree:
                wrong.append({"point": point, "certified_state": a["state"]})
    med_ours = statistics.median(r["seconds"] for r in ours)
    med_ref = statistics.median(r["seconds"] for r in reference)
    count = {name: {s: sum(r["status"] == s for r in runs) for s in ("solved", "zero", "error")}
             for name, runs in (("ours", ours), ("reference", reference))}
    summary = {"points": len(points), "median_ms_ours": 1e3 * med_ours, "median_ms_reference": 1e3 * med_ref,
               "median_ratio_ours_over_reference": med_ours / med_ref, "status": count,
               "reference_wrong_collapses": len(wrong),
               "total_s_ours": sum(r["seconds"] for r in ours), "total_s_reference": sum(r["seconds"] for r in reference)}
    print(json.dumps(summary, indent=1))
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"summary": summary, "points": points, "ours": ours, "reference": reference,
                                "wrong_collapses": wrong}, indent=1))
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
