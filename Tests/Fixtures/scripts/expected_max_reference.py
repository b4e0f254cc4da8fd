#!/usr/bin/env python3
"""E[max of n i.i.d. N(0, 1)] for n = 1..19, independently of ccsim.

Two independent evaluations that must agree:
  * mpmath (50 digits): E[max] = integral_0^inf (1 - Phi(x)^n - Phi(-x)^n) dx
    (tail-sum form, a different integrand from ccsim's n z phi(z) Phi(z)^(n-1));
  * scipy.integrate.quad of n z phi(z) Phi(z)^(n-1) over the real line.
Also every expected order statistic E[Z_(i:n)] (ascending), by the tail-sum form over the
binomial law of the count below x (ccsim integrates the density n C(n-1, i-1) z phi Phi^(i-1)
(1 - Phi)^(n-i) instead), and the complement(K) worst-margin / hinge / zero-one threshold
(mu - sigma E[max of K-1]) / 2 for mu = 1 and a few sigma. Writes Tests/Fixtures/expected_max_reference.json.

    python3 Tests/Fixtures/scripts/expected_max_reference.py
"""
import json
import os

import mpmath
from scipy import integrate, stats

mpmath.mp.dps = 50


def expected_max_mpmath(n):
    if n == 1:
        return mpmath.mpf(0)
    Phi = lambda x: mpmath.ncdf(x)
    f = lambda x: 1 - Phi(x) ** n - Phi(-x) ** n
    return mpmath.quad(f, [0, 1, 2, 4, 8, mpmath.inf])


def order_statistic_mpmath(i, n):
    """E[Z_(i:n)] = integral_0^inf (P(Z_(i) > x) - P(Z_(i) < -x)) dx, P(Z_(i) <= x) = P(at least
    i of n below x)."""
    Phi = lambda x: mpmath.ncdf(x)

    def below(x):
        p = Phi(x)
        return mpmath.fsum(mpmath.binomial(n, m) * p ** m * (1 - p) ** (n - m) for m in range(i, n + 1))

    f = lambda x: (1 - below(x)) - below(-x)
    return mpmath.quad(f, [0, 1, 2, 4, 8, mpmath.inf])


def expected_max_scipy(n):
    f = lambda z: n * z * stats.norm.pdf(z) * stats.norm.cdf(z) ** (n - 1)
    v, _ = integrate.quad(f, -15, 15, points=[-2, 0, 2], epsabs=1e-15, epsrel=1e-14, limit=200)
    return v


def main():
    cases = []
    for n in range(1, 20):
        m = expected_max_mpmath(n)
        s = expected_max_scipy(n)
        assert abs(float(m) - s) < 1e-12, (n, float(m), s)
        order = [float(order_statistic_mpmath(i, n)) for i in range(1, n + 1)]
        assert abs(order[-1] - float(m)) < 1e-14, (n, order[-1], float(m))
        cases.append({"n": n, "expected_max": float(m), "expected_max_text": mpmath.nstr(m, 30), "scipy": s,
                      "order_statistics": order})
    # Known values: E[max of 2] = 1/sqrt(pi), E[max of 3] = 3 / (2 sqrt(pi)).
    assert abs(cases[1]["expected_max"] - 1 / mpmath.sqrt(mpmath.pi)) < 1e-15
    assert abs(cases[2]["expected_max"] - 3 / (2 * mpmath.sqrt(mpmath.pi))) < 1e-15
    thresholds = []
    for k in range(3, 21):
        for sigma in (0.25, 0.5, 1.0):
            m = expected_max_mpmath(k - 1)
            thresholds.append({"classes": k, "mu": 1.0, "sigma": sigma, "eps0": float((1 - sigma * m) / 2)})
    out = {
        "generator": "Tests/Fixtures/scripts/expected_max_reference.py",
        "mpmath": mpmath.__version__,
        "description": "E[max of n iid N(0,1)] (mpmath tail-sum form, 50 digits; scipy quad cross-check), every E[Z_(i:n)] ascending (mpmath tail-sum form over the binomial count) and the complement(K) margin-loss threshold (mu - sigma E[max of K-1]) / 2",
        "cases": cases,
        "thresholds": thresholds,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "expected_max_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
