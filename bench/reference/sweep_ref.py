"""Reference for `ccsim-bench sweep`: the free-scale ce optimum of AT over the symmetric family
W(w1, w2) on paper3 (l_inf), with scipy, by the same method as ccsim
(Sources/CrossClass/Exact/{RobustObjective,GaussianExpectation,Optimum}.swift):

* Objective R(w1, w2; eps) = E[max_delta CE]. For ce the adversary's best shift is the
  zonotope's componentwise-lowest vertex, so the robust loss is log(1 + e^-m1 + e^-m2) with
  m_k = d_k - eps (2 w1 + 2 w2) and d the two clean margins of class 1 (every class gives the
  same value). d = mean + (su z1 + sv z2, su z1 - sv z2), su^2 = Var(A) + Var(I)/2,
  sv^2 = Var(I)/2; the integrand is symmetric in z2, so
      R = 2 int_{-9}^{9} phi(z1) int_0^9 phi(z2) loss dz2 dz1,
  the outer integral split into ccsim's 48 scan cells (absolute tolerance tol/4 shared by the
  cells, relative 1e-12), the inner one on one piece (absolute tol/40, relative 1e-12), all by
  scipy.integrate.quad (QUADPACK QAGS; ccsim uses GSL QAG-31). At w2 = 0 (sv = 0) it is the
  1-D integral over z1 (tolerance tol). ccsim also scans every line for kinks of the maximising
  vertex; for ce there is a single candidate vertex, so the reference skips that scan (it finds
  nothing): the reference is given that advantage.
* Optimum: w2 = 0 candidate by a 13-point grid over log w1 in [-5, 4] ([-5, 7], 17 points, when
  the best point is at the upper end) and Brent in the best cell (scipy Brent, relative
  tolerance 2.5e-8 ~ GSL's interval test 1e-9 + 1e-7 |x|); the one-sided derivative dR/dw2 at
  w2 = 0+ by Richardson (steps h, h/2, h = 1e-3 max(w1, 1e-3)); when it is negative,
  Nelder-Mead over (log ||w||, theta) from (log w1*, 0.35) with steps (0.4, 0.2), theta
  reflected into [0, pi/2], until the simplex is below 1e-6 (scipy xatol; GSL nmsimplex2 tests
  the mean distance to the centroid) or 400 iterations.

Prints one JSON object, like the Swift side.
"""
import argparse
import json
import math
import resource
import time

from scipy.integrate import quad
from scipy.optimize import minimize, minimize_scalar

import ra_ref

CUT = 9.0
SCAN = 48
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class Counter:
    evaluations = 0


def ce_loss(m1, m2):
    if m1 > -700.0 and m2 > -700.0:
        return math.log1p(math.exp(-m1) + math.exp(-m2))
    top = max(0.0, -m1, -m2)
    return top + math.log(math.exp(-top) + math.exp(-m1 - top) + math.exp(-m2 - top))


def ce_objective(w1, w2, eps, mu=1.0, sigma=0.5, tol=1e-10):
    """R(W(w1, w2); eps) for ce, paper3, l_inf, tau = 0."""
    Counter.evaluations += 1
    shift = w1 * mu + w2 * mu - eps * (2.0 * w1 + 2.0 * w2)  # robust margin mean
    var_a, var_i = (w1 * sigma) ** 2, (w2 * sigma) ** 2
    su, sv = math.sqrt(var_a + var_i / 2.0), math.sqrt(var_i / 2.0)
    exp, log1p = math.exp, math.log1p
    if sv == 0.0:
        if su == 0.0:
            return ce_loss(shift, shift)

        def line(z):
            return INV_SQRT_2PI * exp(-0.5 * z * z) * ce_loss(shift + su * z, shift + su * z)

        return quad(line, -CUT, CUT, epsabs=tol, epsrel=1e-12, limit=2000)[0]

    inner_tol = tol * 0.05 / 2.0

    def outer(z1):
        base = shift + su * z1

        def inner(z2):
            m1, m2 = base + sv * z2, base - sv * z2
            if m1 > -700.0 and m2 > -700.0:
                loss = log1p(exp(-m1) + exp(-m2))
            else:
                loss = ce_loss(m1, m2)
            return INV_SQRT_2PI * exp(-0.5 * z2 * z2) * loss

        value = quad(inner, 0.0, CUT, epsabs=inner_tol, epsrel=1e-12, limit=2000)[0]
        return INV_SQRT_2PI * exp(-0.5 * z1 * z1) * value

    cells = [-CUT + 2.0 * CUT * i / SCAN for i in range(SCAN + 1)]
    cell_tol = tol * 0.5 / 2.0 / SCAN
    total = 0.0
    for a, b in zip(cells[:-1], cells[1:]):
        total += quad(outer, a, b, epsabs=cell_tol, epsrel=1e-12, limit=150)[0]
    return 2.0 * total


def minimize_1d(f, lower, upper, grid_points, tol=1e-9):
    """ccsim's Minimizer1D: grid scan, Brent in the best cell, end points handled by halving."""
    n = grid_points
    xs = [upper if i == n - 1 else lower + (upper - lower) * i / (n - 1) for i in range(n)]
    fs = [f(x) for x in xs]
    best = min(range(n), key=lambda i: (fs[i], i))
    if 0 < best < n - 1 and fs[best] < fs[best - 1] and fs[best] < fs[best + 1]:
        r = minimize_scalar(f, bracket=(xs[best - 1], xs[best], xs[best + 1]), method="brent", tol=2.5e-8)
        return r.x, r.fun
    end, end_value = xs[best], fs[best]
    other = xs[best - 1] if best == n - 1 else xs[best + 1]
    other_value = fs[best - 1] if best == n - 1 else fs[best + 1]
    halvings = 0
    while abs(other - end) > tol and halvings < 200:
        halvings += 1
        mid = 0.5 * (end + other)
        fm = f(mid)
        if fm < end_value and fm < other_value:
            lo, hi = min(end, other), max(end, other)
            r = minimize_scalar(f, bracket=(lo, mid, hi), method="brent", tol=2.5e-8)
            return r.x, r.fun
        other, other_value = mid, fm
    return end, end_value


def reflect(t):
    u = math.fmod(abs(t), math.pi)
    return math.pi - u if u > math.pi / 2 else u


def solve(eps, tol=1e-10, sigma=0.5):
    return search(lambda w1, w2: ce_objective(w1, w2, eps, sigma=sigma, tol=tol), eps, sigma)


def search(f, eps, sigma, polish=None):
    """ccsim's reference optimiser on the family for the objective f(w1, w2): the axis by
    `minimize_1d` in log w1, the one-sided Richardson derivative there, and where it is negative
    Nelder-Mead on (log ||w||, angle); `polish(f, w1, w2, value)` (None: none) may refine an
    interior point, returning (w1, w2, value) or None."""
    lo, hi = -5.0, 4.0
    rho, best = minimize_1d(lambda r: f(math.exp(r), 0.0), lo, hi, 13)
    if rho >= hi - 1e-6:
        lo, hi = -5.0, 7.0
        rho, best = minimize_1d(lambda r: f(math.exp(r), 0.0), lo, hi, 17)
    r0 = math.exp(rho)
    h = 1e-3 * max(abs(r0), 1e-3)
    f0, f1, f2 = f(r0, 0.0), f(r0, h), f(r0, h / 2)
    derivative = 2 * (f2 - f0) / (h / 2) - (f1 - f0) / h
    w1, w2, boundary = r0, 0.0, True
    if derivative < 0:
        def g(p):
            r = min(max(p[0], lo), hi)
            t = reflect(p[1])
            return f(math.exp(r) * math.cos(t), math.exp(r) * math.sin(t))

        start = [rho, 0.35]
        simplex = [start, [start[0] + 0.4, start[1]], [start[0], start[1] + 0.2]]
        res = minimize(g, start, method="Nelder-Mead",
                       options={"initial_simplex": simplex, "xatol": 1e-6, "fatol": 1e-12, "maxiter": 400})
        if res.fun < best:
            r = min(max(res.x[0], lo), hi)
            t = reflect(res.x[1])
            w1, w2, best, boundary = math.exp(r) * math.cos(t), math.exp(r) * math.sin(t), res.fun, False
            polished = polish(f, w1, w2, best) if polish else None
            if polished is not None:
                w1, w2, best = polished
    w1, w2 = float(w1), float(w2)
    ra = ra_ref.robust_accuracy(w1, w2, eps, sigma=sigma, tol=1e-13)[0]
    return {"w1": w1, "w2": w2, "ratio": (w2 / w1 if w1 else 0.0), "value": best, "robust_accuracy": ra,
            "on_boundary": boundary, "derivative": derivative}


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--eps-max", type=float, default=0.48)
    ap.add_argument("--subset", default="all")
    ap.add_argument("--tolerance", type=float, default=1e-10)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    indices = list(range(1, a.points + 1)) if a.subset == "all" else [int(s) for s in a.subset.split(",")]
    eps = [a.eps_max * i / a.points for i in indices]
    start = time.perf_counter()
    rows = [solve(e, a.tolerance, a.sigma) for e in eps]
    seconds = time.perf_counter() - start
    print(json.dumps({
        "workload": "sweep", "implementation": "scipy", "points": len(rows), "grid_points": a.points,
        "indices": indices, "seconds": seconds, "seconds_per_point": seconds / len(rows), "tolerance": a.tolerance,
        "eps": eps, "w1": [r["w1"] for r in rows], "w2": [r["w2"] for r in rows], "ratio": [r["ratio"] for r in rows],
        "value": [r["value"] for r in rows], "robust_accuracy": [r["robust_accuracy"] for r in rows],
        "on_boundary": [r["on_boundary"] for r in rows], "objective_evaluations": Counter.evaluations,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "threads": a.threads,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
