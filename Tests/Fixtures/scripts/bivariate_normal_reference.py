#!/usr/bin/env python3
"""Bivariate normal upper orthant P(X > h, Y > k; rho) at 30 digits, independently of ccsim.

mpmath (dps 40) integrates the conditional form
    P(X > h, Y > k) = integral_h^inf phi(x) * Phi((rho x - k) / sqrt(1 - rho^2)) dx,
a different formula from ccsim's (Genz's fixed Gauss-Legendre rules on the Plackett integral,
and an asymptotic expansion for |rho| >= 0.925). rho = +-1 use the degenerate closed forms.
The grid covers both tails (|h|, |k| up to 8), every rule's |rho| range and |rho| -> 1.
Writes Tests/Fixtures/bivariate_normal_reference.json.

    python3 Tests/Fixtures/scripts/bivariate_normal_reference.py
"""
import json
import os

import mpmath

mpmath.mp.dps = 40


def upper(h, k, rho):
    h, k, rho = mpmath.mpf(h), mpmath.mpf(k), mpmath.mpf(rho)
    if rho == 1:
        return mpmath.ncdf(-max(h, k))
    if rho == -1:
        return max(mpmath.mpf(0), mpmath.ncdf(-h) - mpmath.ncdf(k))
    s = mpmath.sqrt(1 - rho * rho)
    f = lambda x: mpmath.npdf(x) * mpmath.ncdf((rho * x - k) / s)
    # Break points where the conditional CDF turns (x = k / rho) and around the Gaussian bulk.
    points = sorted({float(h), *(p for p in (float(k / rho) if rho != 0 else 0.0, 0.0, 2.0, 5.0, 10.0) if p > h)})
    return mpmath.quad(f, points + [mpmath.inf])


hs = [-8.0, -3.0, -1.3, -0.4, 0.0, 0.25, 1.1, 2.5, 4.0, 8.0]
rhos = [-1.0, -0.999999, -0.99, -0.95, -0.93, -0.92, -0.8, -0.5, -0.29, -0.05, 0.0, 0.1, 0.3, 0.45,
        0.74, 0.76, 0.9, 0.924, 0.926, 0.97, 0.999, 0.99999999, 1.0]
cases = []
for h in hs:
    for k in hs[::3] + [h]:
        for rho in rhos:
            cases.append({"h": h, "k": k, "rho": rho, "upper": float(upper(h, k, rho))})
path = os.path.join(os.path.dirname(__file__), "..", "bivariate_normal_reference.json")
with open(path, "w") as f:
    json.dump({"generator": "Tests/Fixtures/scripts/bivariate_normal_reference.py (mpmath dps 40)",
               "cases": cases}, f, indent=1)
print(f"wrote {len(cases)} cases to {os.path.normpath(path)}")
