#!/usr/bin/env python3
"""Robust ce of the symmetric family W(w1, w2) on complement(K), l_inf, independently of ccsim.

R = E[log(1 + exp(-(A - p)) * sum_k exp(-I_k))], A ~ N(w1 mu, (w1 sigma)^2), I_k iid
N(w2 mu, (w2 sigma)^2) (k = 1..K-1), p = eps (2 w1 + 2 w2): the margins' shared and i.i.d.
parts with every margin lowered by its own dual norm (the box vertex the ce adversary picks).
Computed here by a K-dimensional tensor Gauss-Hermite rule (numpy), at two orders; ccsim's
path is a 1-D integral of 1-D Laplace-type integrals (Frullani), a different reduction.
Writes Tests/Fixtures/complement_ce_reference.json.

    python3 Tests/Fixtures/scripts/complement_ce_reference.py
"""
import json
import os

import numpy as np
from numpy.polynomial.hermite_e import hermegauss


def robust_ce(k, w1, w2, eps, mu=1.0, sigma=0.5, order=60):
    n = k - 1
    z, wt = hermegauss(order)
    wt = wt / wt.sum()
    p = eps * (2 * w1 + 2 * w2)
    e = np.exp(-(w2 * mu + w2 * sigma * z))
    s = np.zeros(1)
    w = np.ones(1)
    for _ in range(n):  # sum of n iid exp(-I) on the tensor grid
        s = (s[:, None] + e[None, :]).ravel()
        w = (w[:, None] * wt[None, :]).ravel()
    total = 0.0
    for za, wa in zip(z, wt):
        c = np.exp(-(w1 * mu + w1 * sigma * za - p))
        total += wa * np.dot(w, np.log1p(c * s))
    return float(total)


def main():
    cases = []
    for k, w1, w2, eps, orders in [(4, 1.2, 0.5, 0.15, (80, 120)), (4, 3.0, 2.0, 0.3, (80, 120)),
                                   (5, 5.997290539226671, 3.851165321275716, 0.2, (50, 70))]:
        lo, hi = (robust_ce(k, w1, w2, eps, order=o) for o in orders)
        assert abs(lo - hi) < 1e-11, (k, w1, w2, eps, lo, hi)
        cases.append({"classes": k, "mu": 1.0, "sigma": 0.5, "eps": eps, "w1": w1, "w2": w2,
                      "value": hi, "orders": list(orders), "order_difference": abs(lo - hi)})
    out = {"generator": "Tests/Fixtures/scripts/complement_ce_reference.py",
           "description": "robust ce of W(w1, w2) on complement(K), l_inf, by tensor Gauss-Hermite",
           "cases": cases}
    path = os.path.join(os.path.dirname(__file__), "..", "complement_ce_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
