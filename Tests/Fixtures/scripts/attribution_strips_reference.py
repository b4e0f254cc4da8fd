#!/usr/bin/env python3
"""Independent reference for the ce, K = 3 closed form of the exact adversarial class means
(ExactAttribution's vertex strips): Tests/Fixtures/attribution_strips_reference.json.

E[x + delta*(x) | y] = E[x | y] + eps E[s(x) | y], s the box vertex that maximises the ce of the
perturbed logits. Method, shared with the Swift code only in its mathematics: every one of the
2^d box vertices is enumerated and mapped to its margin shifts V = D s eps (D: rows w_y - w_k,
k != y, in class order), in 40-digit mpmath arithmetic; the maximiser of
psi_V(r) = log(e^{-r - V1} + e^{-V2}) (ce = log(1 + e^{-d2} e^{psi}), r = d1 - d2) lies among
the Pareto-minimal V; the upper envelope of their psi is found from all pairwise tie points and
an evaluation between consecutive ones; r ~ N(mr, sr^2) given y, so E[s_f | y] is the sum over
envelope pieces of s_f (Phi(b) - Phi(a)), in mpmath. No Monte Carlo: the values are exact to
~1e-30 before rounding to double.

The cases: paper3 (mu 1, sigma 0.5, tau 0), optionally with noise dimensions N(0, 1), random
W with N(0, 1) entries times a scale (up to 10, where margins reach ~50 and every vertex's ce is
below double rounding: a loss-comparing quadrature or brute force cannot tell the vertices
apart there, this can), an optional bias, a W with an all-equal column (s = 0 there).

Run:  python3 Tests/Fixtures/scripts/attribution_strips_reference.py   (numpy, mpmath; ~1 minute)
"""
import itertools
import json
import os

import mpmath as mp
import numpy as np

mp.mp.dps = 40

PAPER3 = [[j == y for j in range(3)] + [j != y for j in range(3)] for y in range(3)]


def model_moments(noise_dims):
    """Per-class mean and variance of x (paper3: mu 1, sigma 0.5, tau 0; noise N(0, 1))."""
    means, variances = [], []
    for y in range(3):
        means.append([1.0 if PAPER3[y][f] else 0.0 for f in range(6)] + [0.0] * noise_dims)
        variances.append([0.25 if PAPER3[y][f] else 0.0 for f in range(6)] + [1.0] * noise_dims)
    return means, variances


def expected_signs(w, bias, y, eps, mean, variance):
    d = len(w[0])
    others = [k for k in range(3) if k != y]
    D = [[mp.mpf(w[y][f]) - mp.mpf(w[k][f]) for f in range(d)] for k in others]
    live = [any(D[c][f] != 0 for c in range(2)) for f in range(d)]
    shifts = {}
    for s in itertools.product([-1, 1], repeat=d):
        s = tuple(si if live[f] else 0 for f, si in enumerate(s))
        v = tuple(mp.fsum(D[c][f] * s[f] for f in range(d)) * mp.mpf(eps) for c in range(2))
        shifts.setdefault(v, s)
    ordered = sorted(shifts.items(), key=lambda t: (t[0][0], t[0][1]))
    pareto, lowest = [], mp.inf
    for v, s in ordered:
        if v[1] < lowest:
            pareto.append((v, s))
            lowest = v[1]
    ties = []
    for (a, _), (b, _) in itertools.combinations(pareto, 2):
        if a[0] != b[0] and a[1] != b[1] and (a[0] < b[0]) == (b[1] < a[1]):
            ties.append(mp.log(abs(mp.exp(-a[0]) - mp.exp(-b[0]))) - mp.log(abs(mp.exp(-a[1]) - mp.exp(-b[1]))))
    ties.sort()
    edges = [-mp.inf] + ties + [mp.inf]
    c = [D[0][f] - D[1][f] for f in range(d)]
    b = (mp.mpf(bias[others[1]]) - mp.mpf(bias[others[0]])) if bias else mp.mpf(0)
    mr = mp.fsum(c[f] * mp.mpf(mean[f]) for f in range(d)) + b
    sr = mp.sqrt(mp.fsum(c[f] ** 2 * mp.mpf(variance[f]) for f in range(d)))
    assert sr > 0
    signs = [mp.mpf(0)] * d
    for lo, hi in zip(edges[:-1], edges[1:]):
        r = hi - 1 if lo == -mp.inf else (lo + 1 if hi == mp.inf else (lo + hi) / 2)
        _, s = max(pareto, key=lambda t: mp.log(mp.exp(-r - t[0][0]) + mp.exp(-t[0][1])))
        p = mp.ncdf((hi - mr) / sr) - mp.ncdf((lo - mr) / sr)
        for f in range(d):
            signs[f] += p * s[f]
    return signs


def main():
    cases = []
    specs = [
        # name, seed, noise dims, scale, eps, bias, all-equal column, scale of the noise columns
        ("random W", 1, 0, 1.0, 0.3, None, None, 1),
        ("random W, 2 noise dims, bias", 2, 2, 1.0, 0.15, [0.3, -0.2, 0.1], None, 1),
        ("random W scaled by 3, 5 noise dims", 3, 5, 3.0, 0.1, None, None, 1),
        ("random W scaled by 10, 2 noise dims (saturated ce)", 4, 2, 10.0, 0.2, None, None, 1),
        ("random W with an all-equal column", 5, 0, 2.0, 0.4, None, 2, 1),
        ("random W scaled by 0.3, large eps", 6, 0, 0.3, 0.45, None, None, 1),
        # An empirical optimum's shape: noise columns at ~1e-8 (vertices 1e-8 apart, whose ties
        # a difference of long vertex sums would lose to rounding).
        ("random W scaled by 2, 5 noise columns at 1e-8", 7, 5, 2.0, 0.3, None, None, 1e-8),
    ]
    for name, seed, noise, scale, eps, bias, equal, noise_scale in specs:
        rng = np.random.default_rng(seed)
        d = 6 + noise
        w = rng.standard_normal((3, d)) * scale
        w[:, 6:] *= noise_scale
        w = w.tolist()
        if equal is not None:
            for k in range(3):
                w[k][equal] = 0.7
        means, variances = model_moments(noise)
        adversarial = []
        for y in range(3):
            s = expected_signs(w, bias, y, eps, means[y], variances[y])
            adversarial.append([float(mp.mpf(means[y][f]) + mp.mpf(eps) * s[f]) for f in range(d)])
        cases.append({
            "name": name, "membership": PAPER3, "mu": 1.0, "sigma": 0.5, "noise_dims": noise, "noise_sigma": 1.0,
            "eps": eps, "weights": w, "bias": bias, "adversarial_means": adversarial,
        })
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "attribution_strips_reference.json")
    with open(path, "w") as f:
        json.dump({"generator": "Tests/Fixtures/scripts/attribution_strips_reference.py", "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
