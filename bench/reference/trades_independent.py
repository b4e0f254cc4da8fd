#!/usr/bin/env python3
"""Independent value of the population trades objective of the symmetric family W(w1, w2) on
paper3 under l_inf (the quantity of ccsim's PairObjective / RobustObjective), for auditing
both of ccsim's paths at the 1e-9 level.

Method (independent of ccsim's code): whitened coordinates c = mc + sc z1, u = su z2 (margins
d = (c + u, c - u)); the inner max of KL(p_clean || p_adv) over the six hexagon vertices
e V; along each inner line the kinks are every root of every vertex difference G_ij(u),
bracketed by the critical points of G_ij, which are the positive roots of a degree-6
polynomial in t = e^u (Descartes / Vincent-Collins-Akritas isolation, bisection); scipy's
adaptive quad integrates between consecutive kinks (inner) and over z1 (outer).

Usage: trades_independent.py BETA SIGMA TAU EPS W1 W2   (mu = 1); or import trades_value
(Tests/Fixtures/scripts/trades_reference.py does, for the committed fixture).
Measured (2026-11-30): 6 1 0.2 0.49 7.4278135270820735 2.9711254108328298 -> 17.316623170853813
  (ccsim reference path 17.31662314627677, fast path refined 17.3166231708538);
  6 0.5 0 0.3 7.4278135270820735 2.9711254108328298 -> 3.004832424245142
  (reference 3.004832423859264). Each takes a few minutes.
"""
import math
import sys

import numpy as np
from numpy.polynomial import polynomial as P
from scipy import integrate

V = [(-2, -2), (0, -2), (2, 0), (2, 2), (0, 2), (-2, 0)]


def softplus(a1, a2):
    t = max(0.0, -a1, -a2)
    s = math.exp(-t) + math.exp(-a1 - t) + math.exp(-a2 - t)
    return t + math.log(s), math.exp(-a1 - t) / s, math.exp(-a2 - t) / s


def kl(v, c, u, e):
    d1, d2 = c + u, c - u
    clean, p1, p2 = softplus(d1, d2)
    return softplus(d1 + e * V[v][0], d2 + e * V[v][1])[0] - clean + e * (p1 * V[v][0] + p2 * V[v][1])


def difference(i, j, c, u, e):
    d1, d2 = c + u, c - u
    _, p1, p2 = softplus(d1, d2)
    return (softplus(d1 + e * V[i][0], d2 + e * V[i][1])[0] - softplus(d1 + e * V[j][0], d2 + e * V[j][1])[0]
            + e * (p1 * (V[i][0] - V[j][0]) + p2 * (V[i][1] - V[j][1])))


def critical_polynomial(i, j, c, e):
    """sign(dG_ij/dt) = sign of this polynomial in t = e^u (t > 0)."""
    def quadratic(v):
        l0, l2 = -e * v[0] - c, -e * v[1] - c
        m = max(l0, 0.0, l2)
        return np.array([math.exp(l0 - m), math.exp(-m), math.exp(l2 - m)])
    ai, aj = quadratic(V[i]), quadratic(V[j])
    m = max(-c, 0.0)
    r, one = math.exp(-c - m), math.exp(-m)
    lin = np.array([r, one, r])
    n = np.array([(V[i][0] - V[j][0]) * r, 0.0, (V[i][1] - V[j][1]) * r])
    d = P.polyder
    first = P.polymul(P.polysub(P.polymul(d(ai), aj), P.polymul(ai, d(aj))), P.polymul(lin, lin))
    second = e * P.polymul(P.polysub(P.polymul(d(n), lin), P.polymul(n, d(lin))), P.polymul(ai, aj))
    return P.polyadd(first, second)


def sign_changes(p):
    count, last = 0, 0.0
    for x in p:
        if x != 0:
            if last != 0 and (x > 0) != (last > 0):
                count += 1
            last = x
    return count


def mobius(p, a, b):
    n = len(p) - 1
    out = np.zeros(n + 1)
    for k in range(n + 1):
        out = P.polyadd(out, p[k] * P.polymul(P.polypow([a, b], k), P.polypow([1, 1], n - k)))
    return out


def isolate(p, a, b, depth, out):
    v = sign_changes(mobius(p, a, b))
    if v == 0:
        return
    if v == 1 or depth > 60 or b - a <= 1e-13 * b:
        out.append((a, b))
        return
    m = math.sqrt(a * b) if b > 4 * a else 0.5 * (a + b)
    isolate(p, a, m, depth + 1, out)
    isolate(p, m, b, depth + 1, out)


def roots(i, j, c, e, top):
    p = list(critical_polynomial(i, j, c, e))
    intervals = []
    isolate(p, 1.0, math.exp(top), 0, intervals)
    splits = [0.0]
    for a, b in intervals:
        lo, hi = math.log(a), math.log(b)
        flo = P.polyval(a, p)
        if flo * P.polyval(b, p) < 0:
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                if (P.polyval(math.exp(mid), p) > 0) == (flo > 0):
                    lo = mid
                else:
                    hi = mid
        u = 0.5 * (lo + hi)
        if splits[-1] < u < top:
            splits.append(u)
    splits.append(top)
    mirror = V[i][0] == V[j][1] and V[i][1] == V[j][0]
    previous = 0.0 if mirror else difference(i, j, c, 0.0, e)
    out = []
    for a, b in zip(splits[:-1], splits[1:]):
        nxt = difference(i, j, c, b, e)
        if previous * nxt < 0:
            lo, hi = a, b
            for _ in range(100):
                mid = 0.5 * (lo + hi)
                if (difference(i, j, c, mid, e) > 0) == (previous > 0):
                    lo = mid
                else:
                    hi = mid
            out.append(0.5 * (lo + hi))
        previous = nxt
    return out


def trades_value(beta, sigma, tau, eps, w1, w2):
    """(value, scipy's outer error estimate) of the trades objective, mu = 1 (su > 0)."""
    mc = w1 + w2
    sc = math.sqrt(w1 ** 2 * sigma ** 2 + w2 ** 2 * tau ** 2 + 0.5 * (w2 ** 2 * sigma ** 2 + w1 ** 2 * tau ** 2))
    su = math.sqrt(0.5 * (w2 ** 2 * sigma ** 2 + w1 ** 2 * tau ** 2))
    e = eps * (w1 + w2)
    top = 9 * su

    def loss(c, u):
        return softplus(c + u, c - u)[0] + beta * max(0.0, max(kl(v, c, u, e) for v in range(6)))

    def inner(z1):
        c = mc + sc * z1
        kinks = sorted(r for i in range(6) for j in range(i + 1, 6) for r in roots(i, j, c, e, top))
        ends = [0.0] + [k for k in kinks if 0 < k < top] + [top]
        total = 0.0
        for a, b in zip(ends[:-1], ends[1:]):
            if b - a > 1e-14:
                total += integrate.quad(lambda u: loss(c, u) * math.exp(-(u / su) ** 2 / 2) / math.sqrt(2 * math.pi) / su,
                                        a, b, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
        return total

    value, error = integrate.quad(lambda z: inner(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), -9, 9,
                                  epsabs=1e-12, epsrel=1e-13, limit=400)
    return 2 * value, 2 * error


def main():
    value, error = trades_value(*(float(x) for x in sys.argv[1:7]))
    print("value %.15f quad error estimate %.2g" % (value, error))


if __name__ == "__main__":
    main()
