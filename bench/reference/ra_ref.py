"""Reference for `ccsim-bench ra`: exact robust accuracy of W(1, r) on paper3 with scipy.

The same formula and the same quadrature plan as ccsim (Sources/CrossClass/Exact/
RobustAccuracy.swift, ComplementStructure.correctProbability):

    RA = integral_{-12}^{12} phi(t) Phi(alpha + beta t)^(K-1) dt,
    alpha = (mA + mI - eps N) / sI,  beta = sA / sI,

with mA = w1 muE, sA = w1 sigmaE, mI = w2 muC, sI = w2 sigmaC (tau = 0), N = 2 w1 + 2 w2
(l_inf dual norm of w_y - w_k), the same break points (-alpha/beta + {-8,-3,-1,0,1,3,8}/beta
when 1/beta < 0.5, else -alpha/beta) and the absolute tolerance split evenly over the pieces,
each piece integrated by scipy.integrate.quad (QUADPACK QAGS; ccsim uses GSL QAG-31 per piece).

Prints one JSON object, like the Swift side.
"""
import argparse
import json
import math
import resource
import time

from scipy.integrate import quad

CUT = 12.0
SQRT1_2 = math.sqrt(0.5)
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def normal_cdf(x):
    return 0.5 * math.erfc(-x * SQRT1_2)


def transition_points(center, width):
    if not math.isfinite(center):
        return []
    if not (math.isfinite(width) and 0 < width < 0.5):
        return [center]
    return [center + c * width for c in (-8.0, -3.0, -1.0, 0.0, 1.0, 3.0, 8.0)]


def pieces(lo, hi, breaks):
    gap = 1e-12 * max(hi - lo, 1e-300)
    interior = []
    for p in sorted(b for b in breaks if math.isfinite(b) and lo + gap < b < hi - gap):
        if not interior or p - interior[-1] > gap:
            interior.append(p)
    return [lo] + interior + [hi]


def robust_accuracy(w1, w2, eps, mu=1.0, sigma=0.5, classes=3, tol=1e-10):
    """P(correct under attack | y) for the symmetric family on complement(K), tau = 0."""
    m_a, s_a = w1 * mu, abs(w1) * sigma
    m_i, s_i = w2 * mu, abs(w2) * sigma
    shift = m_a + m_i - eps * (2 * abs(w1) + 2 * abs(w2))
    others = classes - 1
    if s_i == 0:
        if s_a == 0:
            return (1.0 if shift > 0 else 0.0), 0.0
        return normal_cdf(shift / s_a), 0.0
    if s_a == 0:
        return normal_cdf(shift / s_i) ** others, 0.0
    alpha, beta = shift / s_i, s_a / s_i

    def f(t):
        return INV_SQRT_2PI * math.exp(-0.5 * t * t) * normal_cdf(alpha + beta * t) ** others

    pts = pieces(-CUT, CUT, transition_points(-alpha / beta, 1.0 / beta))
    piece_tol = tol / (len(pts) - 1)
    total, error = 0.0, 0.0
    for a, b in zip(pts[:-1], pts[1:]):
        v, e = quad(f, a, b, epsabs=piece_tol, epsrel=0.0, limit=2000)
        total += v
        error += e
    return min(1.0, max(0.0, total)), error


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--evaluations", type=int, default=2000)
    ap.add_argument("--grid-points", type=int, default=50)
    ap.add_argument("--rmax", type=float, default=1.5)
    ap.add_argument("--eps", type=float, default=0.3)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--mu", type=float, default=1.0)
    ap.add_argument("--tolerance", type=float, default=1e-10)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    grid = [a.rmax * i / (a.grid_points - 1) for i in range(a.grid_points)]
    results = [robust_accuracy(1.0, r, a.eps, a.mu, a.sigma, tol=a.tolerance) for r in grid]
    total = 0.0
    start = time.perf_counter()
    for e in range(a.evaluations):
        total += robust_accuracy(1.0, grid[e % a.grid_points], a.eps, a.mu, a.sigma, tol=a.tolerance)[0]
    seconds = time.perf_counter() - start
    print(json.dumps({
        "workload": "ra", "implementation": "scipy", "evaluations": a.evaluations, "seconds": seconds,
        "rate": a.evaluations / seconds, "tolerance": a.tolerance, "eps": a.eps, "sigma": a.sigma, "mu": a.mu,
        "ratios": grid, "values": [v for v, _ in results], "error_bounds": [e for _, e in results],
        "timed_sum": total, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "threads": a.threads,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
