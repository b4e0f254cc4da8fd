"""Reference for the free-scale `ls:ALPHA` and `trades:BETA` optima of AT over the symmetric
family W(w1, w2) on paper3 (mu 1, sigma 0.5, tau 0) under l_inf, with numpy + scipy only,
written from THEORY.md sections 1-4 (no ccsim code or numbers are used):

* Model and classifier. paper3's membership M (features E1 E2 E3 C1 C2 C3; class i has E_i and
  the C_j, j != i), W(w1, w2)[k, f] = w1 if f is exclusive to k, w2 if f is cross-class and
  M[k, f] = 1, else 0. For class y the clean margins d_k = (w_y - w_k) . x (k != y) are
  Gaussian with mean D diag(M_y) mu and covariance D diag(M_y sigma^2) D^T (D: rows w_y - w_k).
  The script builds D, the law and the adversary's set for every class and checks that the three
  classes agree (so R is class 1's contribution) and that the two margins are exchangeable,
  which gives the whitened coordinates d = mean + (su z1 + sv z2, su z1 - sv z2),
  su^2 = (Var + Cov) / 2, sv^2 = (Var - Cov) / 2, z1, z2 i.i.d. N(0, 1).
* Inner maximum. The l_inf adversary moves the margins by Delta = D delta, ||delta||_inf <= eps:
  the zonotope {eps D s : s in [-1, 1]^6}. Both losses below are convex in Delta, so the maximum
  is attained at a vertex: the script enumerates eps D s over the 64 sign vectors s, keeps the
  vertices of their convex hull (scipy.spatial.ConvexHull; a hexagon here) and takes the max of
  the loss over them, at every point.
  - ls:alpha, target 1 - alpha on y and alpha / (K - 1) elsewhere:
    -sum_j t_j log softmax(z)_j with z_y = 0, z_k = -(d_k + Delta_k), which is
    CE(d + Delta) + alpha / (K - 1) sum_k (d_k + Delta_k), CE(m) = log(1 + sum_k e^-m_k).
  - trades:beta: CE(d) + beta max_Delta KL(softmax(z(d)) || softmax(z(d + Delta))), i.e. the
    natural CE plus beta times the adversary's largest KL (the adversary maximises the KL term,
    not the CE term); KL = CE(d + Delta) - CE(d) + sum_k p_k Delta_k, p_k the clean
    probability of class k.
  (`--self-test` checks both margin forms against the softmax forms at random points.)
* Outer expectation. R = 2 int_{-9}^{9} phi(z1) int_0^9 phi(z2) L dz2 dz1 (the vertex set is
  closed under swapping the two margins, checked, so L is even in z2; the mass beyond |z| = 9,
  1e-19, is dropped). L, the max over the vertices, has kinks where the maximising vertex
  changes; a grid scan for them is not enough (a 64-point scan missed pieces 0.04 wide and QAGS,
  not told of them, was off by up to 8e-6 on a line and 1e-10 in R), so every kink on every
  inner line is located exactly: along a line, the difference of two vertices' quantities is
  a function of x = e^{s t} whose zeros (ls: roots of a quadratic) or monotone pieces (trades:
  between the real roots of a degree-6 polynomial, the sign of its derivative) are computed
  exactly (see "Kinks along lines" below), and a zero is a kink when the two vertices are the
  maximisers there (to 1e-13 (1 + |L|)). scipy.integrate.quad (QUADPACK QAGS) integrates L
  between consecutive kinks (absolute tolerance tol / 40 per line, relative 1e-12). The outer
  integral is split into 24 equal cells on [-9, 9] and, in addition, at the values of z1 where
  the sequence of maximisers along the inner line changes (where a kink curve meets z2 = 0 or
  turns back; bisection to 1e-9, several per cell), and each cell is integrated by quad
  (absolute tolerance tol / 4 shared by the cells, relative 1e-12). At w2 = 0 (sv = 0) the same
  on the single line over z1.
* Optimum (the plan of sweep_ref.py): on the axis w2 = 0 a 13-point grid over log w1 in
  [-5, 4] (17 over [-5, 7] when the best point is at the upper end) and Brent in the best cell;
  dR/dw2 at w2 = 0+ by Richardson (steps h, h / 2, h = 1e-3 max(w1, 1e-3)); when it is
  negative, Nelder-Mead over (log ||w||, theta) from (log w1*, 0.35), theta reflected into
  [0, pi/2], until the simplex is below 1e-6 (xatol; fatol 1e-12) or 400 iterations, then one
  Newton step on central differences (h = 1e-4 ||w||, 8 evaluations) from the simplex's best
  point, kept when the Hessian is positive definite and the step below 1e-4 ||w||.

Accuracy and how it was verified (2026-12, default tolerance 1e-10). Objective values: against
`ccsim objective --eps E --objective O --w1 A --w2 B` at 12-14 points (w from (0.01, 0.005) to
(30, 20), both optima among them) for ls:0.1 and trades:1 at eps 0.1 and 0.3, and ls:0.4 and
trades:6 at eps 0.45: largest difference 1.8e-11, within ccsim's own error bounds; at the
largest differences ccsim's `--reference` path agrees with this script's tolerance-1e-13 run to
<= 1e-15 (ls) and the two ccsim paths differ from each other by as much (trades:6). This
script at tolerance 1e-10 is within 6e-13 (trades) and 2e-14 (ls) of its own tolerance-1e-13
values, and at trades:1, W(5, 4), eps 0.3 within 1.3e-13 of trades_independent.py.
Optima at eps 0.3 against `ccsim optimum --json`: ls:0.1 w1, w2 within 3e-9, value 1e-14;
trades:1 w1, w2 within 1e-8, value 1e-14 (about 125 objective evaluations each; 22 s and 114 s on
one core here, with another build running). `--self-test` checks the margin forms of both losses
against the softmax definitions (3.6e-15).

Usage: pair_ref.py --objective ls:0.1 --points 8 --subset 5     (eps = 0.48 * 5 / 8 = 0.3)
       pair_ref.py --objective trades:1 --eps 0.3 --at 1.5,1.1 --at 2,0
Prints one JSON object, like the Swift side. The computation is serial (scalar Python
integrands); BLAS/OpenMP pools are pinned to one thread before numpy is imported.
"""
import os

for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from scipy.integrate import quad  # noqa: E402
from scipy.spatial import ConvexHull  # noqa: E402

import ra_ref  # noqa: E402  (scipy reference of the robust accuracy, this directory)
from sweep_ref import search  # noqa: E402  (the ce reference's optimiser on the family)

CUT = 9.0
SCAN = 24          # outer cells on [-CUT, CUT]
BREAK_TOL = 1e-9   # bisection width of the outer break points
INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
PAPER3 = np.array([[1, 0, 0, 0, 1, 1], [0, 1, 0, 1, 0, 1], [0, 0, 1, 1, 1, 0]])


class Counter:
    evaluations = 0


def parse_objective(text):
    """ccsim's spellings: ls[:alpha] (default 0.1), trades[:beta] (default 6)."""
    name, _, parameter = text.lower().partition(":")
    if name in ("ls", "label-smoothing"):
        return "ls", float(parameter) if parameter else 0.1
    if name == "trades":
        return "trades", float(parameter) if parameter else 6.0
    raise SystemExit(f"objective '{text}': pair_ref.py computes ls[:alpha] and trades[:beta]")


# ---------------------------------------------------------------------------------------------
# Model, margin law and the adversary's vertices.

def family_weights(membership, w1, w2):
    exclusive = membership.sum(axis=0) == 1
    return np.where(membership == 1, np.where(exclusive, w1, w2), 0.0)


def class_geometry(membership, weights, y, eps, mu, sigma):
    """Mean and covariance of class y's clean margins, and the vertices of its margin-shift set."""
    others = [k for k in range(membership.shape[0]) if k != y]
    D = np.array([weights[y] - weights[k] for k in others])            # (K - 1) x F
    present = membership[y].astype(float)
    mean = D @ (present * mu)
    cov = D @ np.diag(present * sigma ** 2) @ D.T
    F = D.shape[1]
    signs = np.array([[1.0 if (s >> f) & 1 else -1.0 for f in range(F)] for s in range(2 ** F)])
    points = eps * signs @ D.T                                           # every eps D s
    points = np.unique(np.round(points, 13), axis=0)
    try:
        vertices = points[ConvexHull(points).vertices]
    except Exception:  # degenerate set (a segment or a point): every candidate is kept
        vertices = points
    return mean, cov, vertices


def vertex_key(vertices):
    return sorted((round(a, 10), round(b, 10)) for a, b in vertices)


def geometry(w1, w2, eps, mu, sigma):
    """(m0, su, sv, vertices) of the symmetric family on paper3, with the symmetry checks."""
    W = family_weights(PAPER3, w1, w2)
    F = PAPER3.shape[1]
    mus, sigmas = np.full(F, mu), np.full(F, sigma)
    mean, cov, vertices = class_geometry(PAPER3, W, 0, eps, mu=mus, sigma=sigmas)
    scale = 1e-12 * (1.0 + abs(mean[0]) + abs(cov[0, 0]))
    for y in (1, 2):
        m, c, v = class_geometry(PAPER3, W, y, eps, mu=mus, sigma=sigmas)
        assert np.allclose(m, mean, atol=scale) and np.allclose(c, cov, atol=scale), "classes differ"
        assert vertex_key(v) == vertex_key(vertices), "adversary sets differ between classes"
    assert abs(mean[0] - mean[1]) <= scale and abs(cov[0, 0] - cov[1, 1]) <= scale, "margins not exchangeable"
    assert vertex_key(vertices[:, ::-1]) == vertex_key(vertices), "vertex set not symmetric"
    su = math.sqrt(max(0.0, (cov[0, 0] + cov[0, 1]) / 2.0))
    sv = math.sqrt(max(0.0, (cov[0, 0] - cov[0, 1]) / 2.0))
    return float(mean[0]), su, sv, vertices


# ---------------------------------------------------------------------------------------------
# Losses at the vertices.

def ce_margins(m1, m2):
    top = max(0.0, -m1, -m2)
    return top + math.log(math.exp(-top) + math.exp(-m1 - top) + math.exp(-m2 - top))


def log_ratio(e1, e2, a, b, s0):
    """log((1 + e1 a + e2 b) / s0), s0 = 1 + e1 + e2, exact when the ratio is near 1."""
    r = (e1 * (a - 1.0) + e2 * (b - 1.0)) / s0
    return math.log1p(r) if r > -0.5 else math.log((1.0 + e1 * a + e2 * b) / s0)


class Loss:
    """max over the vertices of the loss at margins (d1, d2), scalar and vectorised."""

    def __init__(self, kind, parameter, vertices, classes=3):
        self.kind, self.parameter = kind, parameter
        self.v1 = [float(v[0]) for v in vertices]
        self.v2 = [float(v[1]) for v in vertices]
        self.n = len(vertices)
        # exp(-Delta) for the fast paths (only used while every product stays below e^690).
        self.a = [math.exp(min(-x, 700.0)) for x in self.v1]
        self.b = [math.exp(min(-x, 700.0)) for x in self.v2]
        self.smoothing = parameter / (classes - 1) if kind == "ls" else 0.0
        self.lin = [self.smoothing * (x1 + x2) for x1, x2 in zip(self.v1, self.v2)]
        self.largest = max([0.0] + [-x for x in self.v1 + self.v2])
        if self.largest > 650.0:
            self.largest = math.inf  # the stable slow path everywhere
        self.V1, self.V2 = np.array(self.v1)[:, None], np.array(self.v2)[:, None]
        # Per-vertex coefficients (e^-Delta_1, 1, e^-Delta_2) divided by their largest (scaling a
        # vertex's Q by a constant leaves the critical points of G_ij unchanged), in logs.
        logs = np.stack([-self.V1[:, 0], np.zeros(self.n), -self.V2[:, 0]], axis=1)
        self.log_q = logs
        self.q_norm = np.exp(logs - logs.max(axis=1, keepdims=True))
        self.lin_arr = np.array(self.lin)
        self.cache = {}
        self.pairs = tuple(np.array(x) for x in zip(*[(i, j) for i in range(self.n) for j in range(i + 1, self.n)]))

    # Stable per-vertex loss (no overflow for any margins): the definition itself.
    def vertex_slow(self, v, d1, d2):
        if self.kind == "ls":
            return ce_margins(d1 + self.v1[v], d2 + self.v2[v]) + self.smoothing * (d1 + d2 + self.v1[v] + self.v2[v])
        clean = ce_margins(d1, d2)
        p1, p2 = math.exp(-d1 - clean), math.exp(-d2 - clean)
        return ce_margins(d1 + self.v1[v], d2 + self.v2[v]) - clean + p1 * self.v1[v] + p2 * self.v2[v]

    def vertex(self, v, d1, d2):
        """The per-vertex quantity the adversary maximises (ls: the loss; trades: the KL)."""
        if -min(d1, d2) + self.largest > 690.0:
            return self.vertex_slow(v, d1, d2)
        e1, e2 = math.exp(-d1), math.exp(-d2)
        if self.kind == "ls":
            return math.log1p(e1 * self.a[v] + e2 * self.b[v]) + self.lin[v] + self.smoothing * (d1 + d2)
        s0 = 1.0 + e1 + e2
        return log_ratio(e1, e2, self.a[v], self.b[v], s0) + (e1 * self.v1[v] + e2 * self.v2[v]) / s0

    def __call__(self, d1, d2):
        """The objective's integrand: max over vertices (trades: natural CE + beta max KL)."""
        if -min(d1, d2) + self.largest > 690.0:
            best = max(self.vertex_slow(v, d1, d2) for v in range(self.n))
            if self.kind == "ls":
                return best
            return ce_margins(d1, d2) + self.parameter * max(0.0, best)
        e1, e2 = math.exp(-d1), math.exp(-d2)
        a, b = self.a, self.b
        log1p = math.log1p
        if self.kind == "ls":
            lin = self.lin
            best = -math.inf
            for v in range(self.n):
                x = log1p(e1 * a[v] + e2 * b[v]) + lin[v]
                if x > best:
                    best = x
            return best + self.smoothing * (d1 + d2)
        s0 = 1.0 + e1 + e2
        v1, v2 = self.v1, self.v2
        best = 0.0  # KL >= 0 (Delta = 0 is in the set)
        for v in range(self.n):
            r = (e1 * (a[v] - 1.0) + e2 * (b[v] - 1.0)) / s0
            x = (log1p(r) if r > -0.5 else math.log((1.0 + e1 * a[v] + e2 * b[v]) / s0)) + (e1 * v1[v] + e2 * v2[v]) / s0
            if x > best:
                best = x
        return log1p(e1 + e2) + self.parameter * best

    def table(self, d1, d2):
        """Per-vertex maximised quantity at arrays of margins: (n_vertices, n_points)."""
        d1, d2 = np.asarray(d1, float)[None, :], np.asarray(d2, float)[None, :]
        return self._values(d1, d2, self.V1, self.V2)

    def difference(self, i, j, d1, d2, q1=None, q2=None):
        """Vertex i's quantity minus vertex j's, elementwise; with (q1, q2) also its derivative
        along the direction (q1, q2) of the margins."""
        d1, d2 = np.asarray(d1, float), np.asarray(d2, float)
        x1, x2, y1, y2 = self.V1[i, 0], self.V2[i, 0], self.V1[j, 0], self.V2[j, 0]
        ci, cj = log_one_plus(d1 + x1, d2 + x2), log_one_plus(d1 + y1, d2 + y2)
        diff = ci - cj
        if self.kind == "ls":
            diff = diff + self.smoothing * (x1 + x2 - y1 - y2)
        else:
            clean = log_one_plus(d1, d2)
            p1, p2 = np.exp(-d1 - clean), np.exp(-d2 - clean)
            diff = diff + p1 * (x1 - y1) + p2 * (x2 - y2)
        if q1 is None:
            return diff
        # d CE(m) / d m_k = -softmax_k; trades: d p_l / d d_k = p_l (p_k - [l = k]).
        slope = q1 * (np.exp(-d1 - y1 - cj) - np.exp(-d1 - x1 - ci)) + q2 * (np.exp(-d2 - y2 - cj) - np.exp(-d2 - x2 - ci))
        if self.kind != "ls":
            pd = p1 * (x1 - y1) + p2 * (x2 - y2)
            slope = slope + q1 * p1 * (pd - (x1 - y1)) + q2 * p2 * (pd - (x2 - y2))
        return diff, slope

    def _values(self, d1, d2, x1, x2):
        ce = log_one_plus(d1 + x1, d2 + x2)
        if self.kind == "ls":
            return ce + self.smoothing * (d1 + x1 + d2 + x2)
        clean = log_one_plus(d1, d2)
        return ce - clean + np.exp(-d1 - clean) * x1 + np.exp(-d2 - clean) * x2


def log_one_plus(m1, m2):
    """log(1 + e^-m1 + e^-m2) elementwise, without overflow and exact for large margins."""
    top = np.maximum(0.0, np.maximum(-m1, -m2))
    return top + np.log1p(np.expm1(-top) + np.exp(-m1 - top) + np.exp(-m2 - top))


def labels(values):
    """Index of the maximising vertex per column; a vertex takes over only beyond noise."""
    best = values.max(axis=0)
    noise = 1e-13 * (1.0 + np.abs(best))
    return np.argmax(values >= best - noise, axis=0)


# ---------------------------------------------------------------------------------------------
# Kinks along lines d(t) = p + t q, q = (s, -s) (inner lines) or (s, s) (the axis w2 = 0).
#
# With x = e^{s (t - t_mid)}, e_k = e^{-d_k} is e_k(t_mid) x^{n_k}, n_k = -q_k / s in {-1, 1},
# and x (1 + e_1 a + e_2 b) = Q(x) is a polynomial of degree <= 2 for every vertex (a, b) =
# (e^{-Delta_1}, e^{-Delta_2}). The difference of two vertices' quantities is
#   ls:     G_ij = log Q_i - log Q_j + log K_i - log K_j,  K_v = e^{alpha/(K-1) (Delta_v1 + Delta_v2)},
#           so G_ij = 0 <=> K_i Q_i(x) = K_j Q_j(x): the real roots of a quadratic;
#   trades: G_ij = log Q_i - log Q_j + R_ij / Q_0,  R_ij = sum_k e_k(t_mid) x^{1 + n_k} (Delta_ik - Delta_jk)
#           (Q_0: Delta = 0; p_k = e_k / (1 + e_1 + e_2) = e_k(t_mid) x^{1 + n_k} / Q_0), and the
#           sign of dG_ij/dx is that of the polynomial
#           N = (Q_i' Q_j - Q_j' Q_i) Q_0^2 + (R' Q_0 - R Q_0') Q_i Q_j   (degree <= 6):
#           between consecutive real roots of N, G_ij is monotone and has at most one zero,
#           found by Newton's method inside its bracket.
# Real roots: companion-matrix eigenvalues (numpy). Every coefficient is divided by
# max(1, e_1(t_mid), e_2(t_mid)), which leaves roots and signs unchanged. The kinks of the max
# are the zeros at which i and j are the maximisers.

def product(a, b):
    """Rows of polynomials whose coefficients are linear forms in (f1, fx, f2): a (P, nA, La) times
    b (P, nB, Lb) -> (P, nA nB, La + Lb - 1)."""
    out = np.zeros((a.shape[0], a.shape[1], b.shape[1], a.shape[2] + b.shape[2] - 1))
    for i in range(a.shape[2]):
        for j in range(b.shape[2]):
            out[:, :, :, i + j] += a[:, :, None, i] * b[:, None, :, j]
    return out.reshape(a.shape[0], a.shape[1] * b.shape[1], -1)


def derivative(a):
    return a[:, :, 1:] * np.arange(1, a.shape[2])


def critical_tensor(loss, axis):
    """N of every pair as a tensor in the monomials of (f1, fx, f2) (f_k = e_k(t_mid), fx = 1, all
    divided by max(1, e_1, e_2)): N = tensor . (f x f [x f x f]), computed once per W."""
    key = ("axis" if axis else "inner")
    if key in loss.cache:
        return loss.cache[key]
    n = loss.n
    I, J = loss.pairs
    Q = np.zeros((n + 1, 3, 3))                       # vertex, basis (f1, fx, f2), power of x
    Q[:n, 0, 0], Q[:n, 1, 1] = loss.q_norm[:, 0], loss.q_norm[:, 1]
    Q[n, 0, 0], Q[n, 1, 1] = 1.0, 1.0
    if axis:
        Q[:n, 2, 0], Q[n, 2, 0] = loss.q_norm[:, 2], 1.0
    else:
        Q[:n, 2, 2], Q[n, 2, 2] = loss.q_norm[:, 2], 1.0
    dQ = derivative(Q)
    T1 = product(dQ[I], Q[J]) - product(dQ[J], Q[I])
    if loss.kind == "ls":
        tensor = T1
    else:
        R = np.zeros((len(I), 3, 3))
        R[:, 0, 0] = loss.V1[I, 0] - loss.V1[J, 0]
        if axis:
            R[:, 2, 0] = loss.V2[I, 0] - loss.V2[J, 0]
        else:
            R[:, 2, 2] = loss.V2[I, 0] - loss.V2[J, 0]
        Q0 = np.repeat(Q[n:n + 1], len(I), axis=0)
        T2 = product(derivative(R), Q0) - product(R, derivative(Q0))
        tensor = product(T1, product(Q0, Q0)) + product(T2, product(Q[I], Q[J]))
    loss.cache[key] = tensor
    return tensor


def real_roots_rows(polys, lo, hi):
    """Real roots in (lo, hi) of each row's polynomial (ascending coefficients): list of arrays."""
    out = [np.empty(0)] * polys.shape[0]
    scale = np.abs(polys).max(axis=1)
    significant = np.abs(polys) > 1e-14 * scale[:, None]
    degree = np.where(significant.any(axis=1), polys.shape[1] - 1 - np.argmax(significant[:, ::-1], axis=1), 0)
    for n in np.unique(degree):
        if n == 0:
            continue
        rows = np.nonzero(degree == n)[0]
        c = polys[rows, :n + 1]
        companion = np.zeros((len(rows), n, n))
        if n > 1:
            companion[:, np.arange(1, n), np.arange(n - 1)] = 1.0
        companion[:, :, n - 1] = -c[:, :n] / c[:, n:n + 1]
        roots = np.linalg.eigvals(companion)
        keep = (np.abs(roots.imag) <= 1e-7 * np.maximum(1.0, np.abs(roots.real))) & (roots.real > lo) & (roots.real < hi)
        for r, z, k in zip(rows, roots.real, keep):
            out[r] = z[k]
    return out


def line_kinks(loss, p1, p2, s, axis, t0, t1):
    """Kinks of max_v (vertex quantity) on d = (p1, p2) + t (s, -s) [(s, s) when axis], t in (t0, t1)."""
    if s * (t1 - t0) > 400.0:
        # x = e^{s (t - t_mid)} would leave the floating-point range: in pieces.
        mid = 0.5 * (t0 + t1)
        return line_kinks(loss, p1, p2, s, axis, t0, mid) + [mid] + line_kinks(loss, p1, p2, s, axis, mid, t1)
    I, J = loss.pairs
    q2 = s if axis else -s
    tm = 0.5 * (t0 + t1)
    l1, l2 = -(p1 + s * tm), -(p2 + q2 * tm)
    m = max(0.0, l1, l2)
    f = np.array([math.exp(l1 - m), math.exp(-m), math.exp(l2 - m)])
    half = s * (t1 - t0) / 2.0
    if loss.kind == "ls":
        # G_ij = 0 <=> K_i Q_i(x) = K_j Q_j(x), K_v = e^{alpha / (K - 1) (Delta_v1 + Delta_v2)}: a
        # quadratic, solved exactly (coefficients formed in logs and scaled per pair).
        logs = loss.log_q + loss.lin_arr[:, None] + np.array([l1 - m, -m, l2 - m])
        if axis:
            top = np.maximum(logs[:, 0], logs[:, 2])
            logs = np.stack([top + np.log(np.exp(logs[:, 0] - top) + np.exp(logs[:, 2] - top)), logs[:, 1],
                             np.full(loss.n, -np.inf)], axis=1)
        scale = np.maximum(logs[I].max(axis=1), logs[J].max(axis=1))[:, None]
        roots = real_roots_rows(np.exp(logs[I] - scale) - np.exp(logs[J] - scale), math.exp(-half), math.exp(half))
        x = np.concatenate(roots)
        if len(x) == 0:
            return []
        x = tm + np.log(x) / s
        vi = np.repeat(I, [len(r) for r in roots])
        vj = np.repeat(J, [len(r) for r in roots])
        return envelope(loss, vi, vj, x, p1, p2, s, q2)
    ff = np.multiply.outer(f, f).ravel()
    F = np.multiply.outer(ff, ff).ravel()
    N = np.einsum("pkn,k->pn", critical_tensor(loss, axis), F)
    critical = real_roots_rows(N, math.exp(-half), math.exp(half))
    # Brackets: the line's ends and the critical points of each pair.
    counts = [len(r) + 2 for r in critical]
    pair_of = np.repeat(np.arange(len(critical)), counts)
    ts = np.concatenate([np.sort(np.concatenate([[t0, t1], tm + np.log(r) / s])) for r in critical])
    G = loss.difference(I[pair_of], J[pair_of], p1 + s * ts, p2 + q2 * ts)
    same = pair_of[:-1] == pair_of[1:]
    k = np.nonzero(same & (G[:-1] * G[1:] < 0.0))[0]
    if len(k) == 0:
        return []
    vi, vj = I[pair_of[k]], J[pair_of[k]]
    lo, hi, glo, ghi = ts[k], ts[k + 1], G[k], G[k + 1]
    # Newton's method safeguarded by the bracket (bisection when a step leaves it), vectorised
    # over the brackets, to 1e-10 (1 + |t|): a split point off the kink by delta moves the line
    # integral by O(delta^2) (quad integrates the max itself), far below the tolerance.
    x = (lo * ghi - hi * glo) / (ghi - glo)
    for _ in range(100):
        g, slope = loss.difference(vi, vj, p1 + s * x, p2 + q2 * x, s, q2)
        below = (g < 0.0) == (glo < 0.0)
        lo, glo = np.where(below, x, lo), np.where(below, g, glo)
        hi, ghi = np.where(below, hi, x), np.where(below, ghi, g)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = x - g / slope
        bad = ~((step > lo) & (step < hi)) | (g == 0.0)
        new = np.where(g == 0.0, x, np.where(bad, 0.5 * (lo + hi), step))
        converged = np.abs(new - x) <= 1e-10 * (1.0 + np.abs(x))
        x = new
        if converged.all():
            break
    return envelope(loss, vi, vj, x, p1, p2, s, q2)


def envelope(loss, vi, vj, x, p1, p2, s, q2):
    """The zeros x of G_{vi vj} at which vi and vj are the maximisers: the kinks of the max."""
    table = loss.table(p1 + s * x, p2 + q2 * x)
    cols = np.arange(len(x))
    own = np.maximum(table[vi, cols], table[vj, cols])
    best = table.max(axis=0)
    keep = best - own <= 1e-13 * (1.0 + np.abs(best))
    return sorted(set(x[keep].tolist()))


def line_integral(loss, p1, p2, s, axis, t0, t1, epsabs):
    """int_{t0}^{t1} phi(t) L(p + t q) dt, split at the kinks; and the sequence of maximisers."""
    cuts = [t0]
    for k in line_kinks(loss, p1, p2, s, axis, t0, t1) + [t1]:
        # Kinks closer than their location's accuracy are one (mirror vertices tie exactly on
        # the axis, so their kinks come in pairs).
        if k - cuts[-1] > 1e-9 * (1.0 + abs(k)):
            cuts.append(k)
    cuts[-1] = t1
    q2 = s if axis else -s
    exp = math.exp

    def f(t):
        return INV_SQRT_2PI * exp(-0.5 * t * t) * loss(p1 + t * s, p2 + t * q2)

    share = epsabs / (len(cuts) - 1)
    total = 0.0
    for a, b in zip(cuts[:-1], cuts[1:]):
        if b - a > 0.0:
            total += quad(f, a, b, epsabs=share, epsrel=1e-12, limit=200)[0]
    return total


def structure(loss, p1, p2, s, axis, t0, t1):
    """The sequence of maximising vertices along a line (from its kinks)."""
    kinks = line_kinks(loss, p1, p2, s, axis, t0, t1)
    cuts = [t0] + kinks + [t1]
    mids = np.array([0.5 * (a + b) for a, b in zip(cuts[:-1], cuts[1:])])
    q2 = s if axis else -s
    lab = labels(loss.table(p1 + s * mids, p2 + q2 * mids))
    return tuple(int(v) for i, v in enumerate(lab) if i == 0 or v != lab[i - 1])


def objective(kind, parameter, w1, w2, eps, mu=1.0, sigma=0.5, tol=1e-10):
    """R(W(w1, w2); eps) for ls:parameter or trades:parameter, paper3, l_inf, tau = 0."""
    Counter.evaluations += 1
    m0, su, sv, vertices = geometry(w1, w2, eps, mu, sigma)
    loss = Loss(kind, parameter, vertices)
    if sv == 0.0:
        if su == 0.0:
            return loss(m0, m0)
        return line_integral(loss, m0, m0, su, True, -CUT, CUT, tol)

    def signature(z1):
        c = m0 + su * z1
        return structure(loss, c, c, sv, False, 0.0, CUT)

    # Outer break points: where the sequence of maximisers along the inner line changes (a kink
    # curve meets z2 = 0 or turns back in z1), each located by bisection, several per cell.
    cells = [-CUT + 2.0 * CUT * i / SCAN for i in range(SCAN + 1)]
    signatures = [signature(z) for z in cells]
    breaks = []
    for a, b, sa, sb in zip(cells[:-1], cells[1:], signatures[:-1], signatures[1:]):
        for _ in range(16):
            if sa == sb:
                break
            lo, hi = a, b
            while hi - lo > BREAK_TOL:
                mid = 0.5 * (lo + hi)
                if signature(mid) == sa:
                    lo = mid
                else:
                    hi = mid
            breaks.append(hi)
            a, sa = hi, signature(hi)
    pts = sorted(cells + breaks)
    inner_tol = tol * 0.05 / 2.0
    exp = math.exp

    def outer(z1):
        c = m0 + su * z1
        return INV_SQRT_2PI * exp(-0.5 * z1 * z1) * line_integral(loss, c, c, sv, False, 0.0, CUT, inner_tol)

    cell_tol = tol * 0.5 / 2.0 / (len(pts) - 1)
    total = 0.0
    for a, b in zip(pts[:-1], pts[1:]):
        if b - a > 0.0:
            total += quad(outer, a, b, epsabs=cell_tol, epsrel=1e-12, limit=150)[0]
    return 2.0 * total


# ---------------------------------------------------------------------------------------------
# Optimum: sweep_ref.py's search, with a Newton polish of an interior point.

def newton_polish(f, w1, w2, f0):
    """One Newton step on central differences (h = 1e-4 ||w||: truncation ~1e-9, rounding of
    the objective's ~1e-13 error ~1e-9 in the gradient) from the simplex's best point, which
    the simplex's stopping rule (1e-6) leaves ~1e-6 from the minimiser. Taken when the
    Hessian is positive definite and the step is below 1e-4 ||w||."""
    h = 1e-4 * max(math.hypot(w1, w2), 1e-3)
    if w2 - h <= 0.0 or w1 - h <= 0.0:
        return None
    fp1, fm1, fp2, fm2 = f(w1 + h, w2), f(w1 - h, w2), f(w1, w2 + h), f(w1, w2 - h)
    fpp, fpm, fmp, fmm = f(w1 + h, w2 + h), f(w1 + h, w2 - h), f(w1 - h, w2 + h), f(w1 - h, w2 - h)
    g = np.array([fp1 - fm1, fp2 - fm2]) / (2 * h)
    H = np.array([[fp1 - 2 * f0 + fm1, (fpp - fpm - fmp + fmm) / 4], [(fpp - fpm - fmp + fmm) / 4, fp2 - 2 * f0 + fm2]]) / h ** 2
    if not (H[0, 0] > 0 and np.linalg.det(H) > 0):
        return None
    step = -np.linalg.solve(H, g)
    if np.hypot(*step) > 1e-4 * math.hypot(w1, w2):
        return None
    n1, n2 = w1 + step[0], w2 + step[1]
    return n1, n2, f(n1, n2)


def solve(kind, parameter, eps, tol=1e-10, sigma=0.5):
    return search(lambda w1, w2: objective(kind, parameter, w1, w2, eps, sigma=sigma, tol=tol), eps, sigma, polish=newton_polish)


# ---------------------------------------------------------------------------------------------

def self_test():
    """The margin forms against the softmax definitions at random margins and shifts."""
    rng = np.random.default_rng(1)
    worst = 0.0
    for _ in range(200):
        d = rng.normal(0, 3, 2)
        vertices = rng.normal(0, 1.5, (6, 2))
        alpha, beta = rng.uniform(0, 0.5), rng.uniform(0, 6)
        for kind, par in (("ls", alpha), ("trades", beta)):
            loss = Loss(kind, par, vertices)
            z = np.array([0.0, -d[0], -d[1]])  # logits of (y, k1, k2) up to a shift
            logp = z - np.log(np.exp(z).sum())
            best = -math.inf
            for v in vertices:
                za = np.array([0.0, -d[0] - v[0], -d[1] - v[1]])
                logq = za - np.log(np.exp(za).sum())
                if kind == "ls":
                    t = np.array([1 - par, par / 2, par / 2])
                    best = max(best, -(t * logq).sum())
                else:
                    best = max(best, (np.exp(logp) * (logp - logq)).sum())
            direct = best if kind == "ls" else -logp[0] + par * best
            worst = max(worst, abs(direct - loss(d[0], d[1])) / (1 + abs(direct)))
            table = loss.table([d[0]], [d[1]])[:, 0]
            for v in range(6):
                worst = max(worst, abs(table[v] - loss.vertex(v, d[0], d[1])))
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objective", default="ls:0.1", help="ls[:alpha] or trades[:beta] (ccsim's spelling)")
    ap.add_argument("--points", type=int, default=100)
    ap.add_argument("--eps-max", type=float, default=0.48)
    ap.add_argument("--subset", default="all")
    ap.add_argument("--eps", type=float, default=None, help="one eps instead of the grid")
    ap.add_argument("--at", action="append", default=[], metavar="W1,W2",
                    help="print R at these points instead of optimising (repeatable)")
    ap.add_argument("--tolerance", type=float, default=1e-10)
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--self-test", action="store_true", help="check the losses against the softmax definitions")
    a = ap.parse_args()
    kind, parameter = parse_objective(a.objective)
    if a.self_test:
        print(json.dumps({"self_test_max_error": self_test()}))
        return
    if a.eps is not None:
        indices, eps = [0], [a.eps]
    else:
        indices = list(range(1, a.points + 1)) if a.subset == "all" else [int(s) for s in a.subset.split(",")]
        eps = [a.eps_max * i / a.points for i in indices]
    start = time.perf_counter()
    if a.at:
        pts = [tuple(float(x) for x in s.split(",")) for s in a.at]
        values = [[objective(kind, parameter, w1, w2, e, sigma=a.sigma, tol=a.tolerance) for w1, w2 in pts] for e in eps]
        seconds = time.perf_counter() - start
        print(json.dumps({"workload": "objective", "implementation": "scipy", "objective": a.objective, "eps": eps,
                          "w1": [p[0] for p in pts], "w2": [p[1] for p in pts], "value": values, "seconds": seconds,
                          "tolerance": a.tolerance, "threads": a.threads}, sort_keys=True))
        return
    rows = [solve(kind, parameter, e, a.tolerance, a.sigma) for e in eps]
    seconds = time.perf_counter() - start
    print(json.dumps({
        "workload": "optimum", "implementation": "scipy", "objective": a.objective, "points": len(rows),
        "grid_points": a.points, "indices": indices, "seconds": seconds, "seconds_per_point": seconds / len(rows),
        "tolerance": a.tolerance, "eps": eps, "w1": [r["w1"] for r in rows], "w2": [r["w2"] for r in rows],
        "ratio": [r["ratio"] for r in rows], "value": [r["value"] for r in rows],
        "robust_accuracy": [r["robust_accuracy"] for r in rows],
        "on_boundary": [r["on_boundary"] for r in rows], "derivative_at_w2_zero": [r["derivative"] for r in rows],
        "objective_evaluations": Counter.evaluations,
        "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "threads": a.threads,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
