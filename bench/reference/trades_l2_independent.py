#!/usr/bin/env python3
"""Independent high-accuracy value of the population TRADES objective under an l_2 threat model,
for the paper3 model (THEORY.md section 1; mu = 1 by default, tau = 0, no noise dims) and the
symmetric weight family W(w1, w2) (layout of Tests/Fixtures/scripts/objective_reference.py):

    R = E_{y, x} [ CE(softmax(W x), y) + beta * max_{||delta||_2 <= eps} KL(softmax(W x) || softmax(W (x + delta))) ]

numpy / scipy only (mpmath not needed); independent of ccsim's Swift code and of
objective_reference.py's l_2 path (its fixed-grid integrator is not used).

Method
* Margin space (class y = 0 by default; --class 1/2 repeats it for another class): d = D x with
  D = (w_y - w_k)_{k != y} (2 x 6), d ~ N(m, C), m = D E[x], C = D Cov(x) D^T.  With
  A(d) = log(1 + e^-d1 + e^-d2) (evaluated as max + log1p) the clean CE is A(d) and, for a margin
  shift Delta = D delta, KL = A(d + Delta) - A(d) + p . Delta  (p_k = e^-d_k / (1 + e^-d1 + e^-d2)).
  The shifts fill the ellipse {eps S (cos t, sin t)}, S = (D D^T)^(1/2) (repo's l2_ellipse); KL is
  convex in Delta, so the max is on the boundary: a 1-D maximisation over the angle t.
* Inner max over t: scan of NSCAN (default 720) angles; every local maximum of the scan refined by
  safeguarded Newton on dKL/dt (analytic first and second derivatives, bracket = the neighbouring
  scan angles); the best refined value is taken.  --selfcheck compares with a 20000-angle scan +
  golden section and with SLSQP over the 6-D sphere ||delta|| = eps (random points).
* Coordinates: C's eigenvectors are (1,1)/sqrt2 and (1,-1)/sqrt2.  d = m + sqrt(l_o) e_o z_o +
  sqrt(l_i) e_i z_i, z_o along (1,1) is the OUTER variable, z_i along (1,-1) the INNER one (the
  opposite order to a (u, v) split with v outer); both truncated to [-T, T] (T = 9); the tail is
  bounded analytically (KL <= 2 max|Delta_k|, CE <= log 3 + max(0, -d1, -d2)) and added to the error.
* Inner line (fixed z_o): kinks = points where the global argmax jumps between two peaks.  Scan of
  z_i (step <= 0.02, and <= 0.01 in margin units); between consecutive samples a jump is flagged
  when the best peak of one sample, followed by a hill climb on the other sample's angle scan, is
  not that sample's best peak (both ways).  Slivers (a second peak wins only between two samples:
  two kinks closer than the step) are caught where the lead of the best peak over the second one
  has a small local minimum: that stretch is rescanned 20x finer.  Every flagged interval is
  bisected to |ds| <= 1e-13, continuing both branches (hill climb + Newton) to the midpoint; if a
  third peak wins at a midpoint the interval is split in two problems.  Between kinks the
  integrand is analytic: vectorised adaptive Gauss-Kronrod 10/21 (QUADPACK nodes); an interval
  is accepted when |K21 - G10| <= its share (by length) of the line tolerance (default 1e-14) or
  <= 8 eps_mach * integral of |f| (roundoff floor); line error = sum of |K21 - G10| (a bound for
  G10, so conservative for the K21 value used).
* Outer integral over z_o: break points = (a) every change of the number of kinks per inner line
  (scan on a z_o grid of step 0.02, bisection to 1e-10): kink curves meet, end, or are tangent to
  the inner lines; (b) every X-crossing of two kink curves (count unchanged): local minima over the
  grid of the gap between adjacent kinks, refined by golden section, kept when the gap closes.
  Then the same adaptive GK 10/21 with the plain |K21 - G10| error (tolerance 1e-13 shared by
  length, intervals first split to length <= 0.5), nodes evaluated in parallel (--jobs, default
  2).  (QUADPACK's own error estimate proved optimistic by ~10x at the 1e-14 level next to the
  weak singularities at break points, hence the plain estimate; --outer quad uses scipy quad on
  the sub-intervals instead, as a cross-check.)
* Error estimate = outer sum |K21 - G10| + max over outer nodes of the line error (bounds the
  phi-weighted integral of the inner errors) + tail bound.

Usage:  python3 bench/reference/trades_l2_independent.py BETA EPS W1 W2 [SIGMA]
        [--mu 1] [--class 0] [--nscan 720] [--T 9] [--inner-tol 1e-14] [--outer-tol 1e-13]
        [--scan-step 0.02] [--dstep 0.01] [--break-step 0.02] [--outer-max-len 0.5]
        [--outer gk|quad] [--jobs 2] [--selfcheck] [--mc N] [--quiet]
Prints the value, the error estimate and the wall time (plus diagnostics).

Results (mu = 1, sigma = 0.5, numpy 2.4 / scipy 1.17, 2 cores):
  beta 1, eps 0.3, W(1, 0.5)       R = 0.42191814212676731  err 1.1e-15   ~1.5-2.5 min
  beta 6, eps 0.3, W(3.116, 2.6)   R = 0.36583199419653301  err 4.3e-15   ~5-9 min
  Point 2 under outer tol 1e-15 / panels 0.25, nscan 1440, 2.7x finer kink and break scans, T = 10 +
  inner tol 1e-16: 0.36583199419653301 / ...306 / ...306 / ...301; scipy quad outer: ...3140.
  Classes 1 and 2 give the same value as class 0; 1.2e6-sample Monte Carlo over all three classes
  (6-D sampling) agrees (z = 0.18 and 0.85).  Fixture case trades(6) l2 eps 0.1 W(1, 0.5):
  0.41539360969779027 (objective_reference.json: 0.41539360927604047 +- 1.2e-9).
"""

import os
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('MKL_NUM_THREADS', '1')
import sys
import math
import time
import argparse
import warnings

import numpy as np
from scipy import integrate, optimize, special

# ----------------------------------------------------------------------------------------------
# paper3 and the symmetric family: the layout of objective_reference.py, imported
# ----------------------------------------------------------------------------------------------
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'Tests', 'Fixtures', 'scripts'))
from objective_reference import M, COLSUM, Wmat  # noqa: E402  (the layout only; none of its integrators)


# Gauss-Kronrod 10/21 (QUADPACK qk21) on [-1, 1]; Gauss nodes are XK[1::2]
XK = np.array([0.9956571630258081, 0.9739065285171717, 0.9301574913557082, 0.8650633666889845,
               0.7808177265864169, 0.6794095682990244, 0.5627571346686047, 0.4333953941292472,
               0.2943928627014602, 0.14887433898163122, 0.0])
WK = np.array([0.01169463886737187, 0.03255816230796472, 0.05475589657435199, 0.07503967481091996,
               0.0931254545836976, 0.10938715880229764, 0.12349197626206584, 0.13470921731147334,
               0.14277593857706009, 0.14773910490133849, 0.1494455540029169])
WG = np.array([0.0, 0.06667134430868814, 0.0, 0.1494513491505806, 0.0, 0.21908636251598204, 0.0,
               0.26926671930999635, 0.0, 0.29552422471475287, 0.0])
GK_X = np.concatenate([XK[:-1], [0.0], -XK[:-1][::-1]])
GK_WK = np.concatenate([WK[:-1], [WK[-1]], WK[:-1][::-1]])
GK_WG = np.concatenate([WG[:-1], [0.0], WG[:-1][::-1]])

SQ2PI = math.sqrt(2.0 * math.pi)
EPSM = np.finfo(float).eps


def phi(t):
    return np.exp(-0.5 * t * t) / SQ2PI


def A_fun(d1, d2):
    """log(1 + e^-d1 + e^-d2) = m + log1p(sum of the two smaller terms), m = max(0, -d1, -d2)"""
    m = np.maximum(0.0, np.maximum(-d1, -d2))
    t0 = np.exp(-m); t1 = np.exp(-d1 - m); t2 = np.exp(-d2 - m)
    rest = np.where(m == 0.0, t1 + t2, np.where(m == -d1, t0 + t2, t0 + t1))
    return m + np.log1p(rest)


class Model:
    def __init__(self, beta, eps, w1, w2, sigma, mu=1.0, y=0, nscan=720):
        self.beta, self.eps, self.w1, self.w2, self.sigma, self.mu, self.y = beta, eps, w1, w2, sigma, mu, y
        W = Wmat(w1, w2)
        self.W = W
        others = [k for k in range(3) if k != y]
        self.others = others
        D = np.stack([W[y] - W[others[0]], W[y] - W[others[1]]])
        self.D = D
        xbar = mu * M[y].astype(float)
        Sig = np.diag(sigma ** 2 * M[y].astype(float))
        self.m = D @ xbar
        C = D @ Sig @ D.T
        lam, Q = np.linalg.eigh(C)
        # outer direction: the eigenvector closest to (1, 1)/sqrt2
        io = int(np.argmax(np.abs(Q.sum(0))))
        ii = 1 - io
        self.Lo = math.sqrt(max(lam[io], 0.0)) * Q[:, io]
        self.Li = math.sqrt(max(lam[ii], 0.0)) * Q[:, ii]
        self.sd_inner = math.sqrt(max(lam[ii], 0.0))
        ev, P = np.linalg.eigh(D @ D.T)
        S = P @ np.diag(np.sqrt(np.maximum(ev, 0.0))) @ P.T
        self.ES = eps * S
        self.nscan = nscan
        th = 2.0 * np.pi * np.arange(nscan) / nscan
        self.th = th
        self.h = 2.0 * np.pi / nscan
        self.DX = self.ES[0, 0] * np.cos(th) + self.ES[0, 1] * np.sin(th)
        self.DY = self.ES[1, 0] * np.cos(th) + self.ES[1, 1] * np.sin(th)
        self.dmax = float(np.max(np.abs(np.concatenate([self.DX, self.DY]))))

    # ---------------- inner maximisation ----------------
    def clean(self, d1, d2):
        a0 = A_fun(d1, d2)
        return a0, np.exp(-d1 - a0), np.exp(-d2 - a0)

    def kl_grid(self, d1, d2, a0, p1, p2):
        D1 = self.DX[None, :]
        D2 = self.DY[None, :]
        return (A_fun(d1[:, None] + D1, d2[:, None] + D2) - a0[:, None]
                + p1[:, None] * D1 + p2[:, None] * D2)

    def kl_t(self, d1, d2, a0, p1, p2, t, deriv=True):
        c, s = np.cos(t), np.sin(t)
        E = self.ES
        D1 = E[0, 0] * c + E[0, 1] * s
        D2 = E[1, 0] * c + E[1, 1] * s
        e1 = d1 + D1
        e2 = d2 + D2
        a1 = A_fun(e1, e2)
        val = a1 - a0 + p1 * D1 + p2 * D2
        if not deriv:
            return val
        q1 = np.exp(-e1 - a1)
        q2 = np.exp(-e2 - a1)
        T1 = -E[0, 0] * s + E[0, 1] * c
        T2 = -E[1, 0] * s + E[1, 1] * c
        g = (p1 - q1) * T1 + (p2 - q2) * T2
        qT = q1 * T1 + q2 * T2
        gp = q1 * T1 * T1 + q2 * T2 * T2 - qT * qT - ((p1 - q1) * D1 + (p2 - q2) * D2)
        return val, g, gp

    def refine(self, d1, d2, a0, p1, p2, t, a, b, iters=60):
        """safeguarded Newton on dKL/dt in [a, b] (vectorised); returns (t, value)"""
        t = t.copy(); a = a.copy(); b = b.copy()
        active = np.ones(t.shape, bool)
        for _ in range(iters):
            idx = np.nonzero(active)[0]
            if idx.size == 0:
                break
            tt = t[idx]
            _, g, gp = self.kl_t(d1[idx], d2[idx], a0[idx], p1[idx], p2[idx], tt)
            aa = np.where(g > 0, tt, a[idx])
            bb = np.where(g > 0, b[idx], tt)
            with np.errstate(divide='ignore', invalid='ignore'):
                tn = tt - g / gp
            bad = ~(gp < 0) | ~np.isfinite(tn) | (tn <= aa) | (tn >= bb)
            tn = np.where(bad, 0.5 * (aa + bb), tn)
            a[idx] = aa; b[idx] = bb; t[idx] = tn
            done = (np.abs(tn - tt) <= 1e-15 * (1.0 + np.abs(tt))) | (bb - aa <= 4e-16 * (1.0 + np.abs(tt)))
            active[idx[done]] = False
        val = self.kl_t(d1, d2, a0, p1, p2, t, deriv=False)
        return t, val

    def peaks(self, d1, d2):
        """all local maxima of the angle scan, refined.  Returns dict with the scan F (N, nscan),
        peak grid indices I (N, P) (-1 padding), refined angles T, values V (-inf padding),
        clean quantities, and the index of the best peak."""
        a0, p1, p2 = self.clean(d1, d2)
        F = self.kl_grid(d1, d2, a0, p1, p2)
        n = self.nscan
        Fl = np.roll(F, 1, axis=1)   # F[j-1]
        Fr = np.roll(F, -1, axis=1)  # F[j+1]
        loc = (F >= Fl) & (F > Fr)
        rows, cols = np.nonzero(loc)
        N = F.shape[0]
        cnt = np.bincount(rows, minlength=N)
        P = max(1, int(cnt.max()) if cnt.size else 1)
        # fallback: a constant row has no local max; use index 0
        nolm = cnt == 0
        if nolm.any():
            rows = np.concatenate([rows, np.nonzero(nolm)[0]])
            cols = np.concatenate([cols, np.zeros(int(nolm.sum()), int)])
            o = np.lexsort((cols, rows)); rows, cols = rows[o], cols[o]
            cnt = np.bincount(rows, minlength=N)
        start = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        slot = np.arange(rows.size) - start[rows]
        t0 = self.th[cols]
        tr, vr = self.refine(d1[rows], d2[rows], a0[rows], p1[rows], p2[rows], t0, t0 - self.h, t0 + self.h)
        vr = np.maximum(vr, F[rows, cols])
        I = np.full((N, P), -1, dtype=int); T = np.zeros((N, P)); V = np.full((N, P), -np.inf)
        I[rows, slot] = cols; T[rows, slot] = tr; V[rows, slot] = vr
        best = np.argmax(V, axis=1)
        return dict(F=F, I=I, T=T, V=V, best=best, a0=a0)

    def fvalue(self, d1, d2, batch=8192):
        """integrand CE + beta * max KL at margin points (vectorised, in batches)"""
        out = np.empty(d1.size)
        for i in range(0, d1.size, batch):
            pk = self.peaks(d1[i:i + batch], d2[i:i + batch])
            out[i:i + batch] = pk['a0'] + self.beta * pk['V'].max(1)
        return out

    # ---------------- geometry ----------------
    def line(self, zo, s):
        d = self.m[:, None] + self.Lo[:, None] * zo + self.Li[:, None] * s[None, :]
        return d[0], d[1]


def climb(F, j0):
    """discrete hill climb on periodic rows of F from j0 to a scan local max (F[j] >= F[j-1], F[j] > F[j+1])"""
    N, n = F.shape
    j = j0 % n
    r = np.arange(N)
    for _ in range(n + 2):
        c = F[r, j]
        right = F[r, (j + 1) % n] >= c
        left = (~right) & (F[r, (j - 1) % n] > c)
        if not (right.any() or left.any()):
            break
        j = np.where(right, j + 1, np.where(left, j - 1, j)) % n
    return j


def peak_value_at(pk, rows, j):
    """refined value and angle of the peak with grid index j in sample rows"""
    I = pk['I'][rows]
    match = I == j[:, None]
    V = np.where(match, pk['V'][rows], -np.inf).max(1)
    T = np.where(match, pk['T'][rows], 0.0).sum(1)
    miss = ~match.any(1)
    if miss.any():  # should not happen: climb stops at a scan local maximum
        V[miss] = pk['F'][rows[miss], j[miss]]
    return V, T


def tie_tol(v):
    return 1e-13 * (1.0 + np.abs(v))


# ----------------------------------------------------------------------------------------------
# kinks along one inner line
# ----------------------------------------------------------------------------------------------
def _best(pk):
    r = np.arange(pk['V'].shape[0])
    b = pk['best']
    V = pk['V'][r, b]
    W = pk['V'].copy(); W[r, b] = -np.inf
    return pk['I'][r, b], V, pk['T'][r, b], V - W.max(1)   # grid index, value, angle, lead over 2nd peak


def _flag(pk, bI, bV, i0, i1):
    """jump of the best peak between samples i0 and i1 (continuation by hill climb, both ways)"""
    jf = climb(pk['F'][i1], bI[i0])
    vf, _ = peak_value_at(pk, i1, jf)
    jb = climb(pk['F'][i0], bI[i1])
    vb, _ = peak_value_at(pk, i0, jb)
    return (vf < bV[i1] - tie_tol(bV[i1])) | (vb < bV[i0] - tie_tol(bV[i0]))


def find_kinks(model, zo, T, h, stol=1e-13, max_problems=400, nsub=40):
    ns = int(math.ceil(2 * T / h))
    s = np.linspace(-T, T, ns + 1)
    d1, d2 = model.line(zo, s)
    pk = model.peaks(d1, d2)
    N = s.size
    bI, bV, bT, lead = _best(pk)
    i0 = np.arange(N - 1)
    flag = _flag(pk, bI, bV, i0, i0 + 1)
    fi = np.nonzero(flag)[0]
    lo = s[fi]; hi = s[fi + 1]; tA = bT[fi]; tB = bT[fi + 1]
    # slivers: a second peak may overtake the best one and fall back between two samples (two kinks
    # closer than h).  Where the lead of the best peak has a small local minimum, rescan finer.
    nsl = 0
    if N >= 3 and np.isfinite(lead).any():
        L = np.where(np.isfinite(lead), lead, np.inf)
        dl = np.abs(np.diff(L))
        c = np.arange(1, N - 1)
        dmx = np.maximum(np.where(np.isfinite(dl[c - 1]), dl[c - 1], 0), np.where(np.isfinite(dl[c]), dl[c], 0))
        # a sliver missed here would cost at most ~ beta * dmx * h: ignore it below 1e-18
        cand = c[(L[c] <= L[c - 1]) & (L[c] <= L[c + 1]) & np.isfinite(L[c]) & (L[c] < 2.0 * dmx + 1e-12) &
                 (model.beta * dmx * h > 1e-18) & ~flag[c - 1] & ~flag[c]]
        u = np.linspace(0.0, 1.0, nsub + 1)
        for c0 in range(0, cand.size, 100):   # in batches (memory)
            cb = cand[c0:c0 + 100]
            ss = (s[cb - 1][:, None] + (s[cb + 1] - s[cb - 1])[:, None] * u[None, :]).ravel()
            e1, e2 = model.line(zo, ss)
            q = model.peaks(e1, e2)
            qI, qV, qT, _ = _best(q)
            j0 = (np.arange(cb.size)[:, None] * (nsub + 1) + np.arange(nsub)[None, :]).ravel()
            f2 = _flag(q, qI, qV, j0, j0 + 1)
            g = j0[f2]
            nsl += int(g.size)
            lo = np.concatenate([lo, ss[g]]); hi = np.concatenate([hi, ss[g + 1]])
            tA = np.concatenate([tA, qT[g]]); tB = np.concatenate([tB, qT[g + 1]])
    lo = lo.copy(); hi = hi.copy(); tA = tA.copy(); tB = tB.copy()
    # bisection problems: (s_lo, tA, s_hi, tB)
    kinks = []
    nsplit = 0
    it = 0
    while lo.size:
        it += 1
        if it > 400 or lo.size > max_problems:
            raise RuntimeError('kink bisection did not terminate (zo=%r)' % zo)
        conv = (hi - lo) <= stol
        if conv.any():
            kinks.extend(list(0.5 * (lo[conv] + hi[conv])))
            lo, hi, tA, tB = lo[~conv], hi[~conv], tA[~conv], tB[~conv]
            if not lo.size:
                break
        sm = 0.5 * (lo + hi)
        e1, e2 = model.line(zo, sm)
        q = model.peaks(e1, e2)
        rr = np.arange(sm.size)
        nb = model.nscan
        jA = climb(q['F'], np.rint(tA / model.h).astype(int) % nb)
        jB = climb(q['F'], np.rint(tB / model.h).astype(int) % nb)
        vA, angA = peak_value_at(q, rr, jA)
        vB, angB = peak_value_at(q, rr, jB)
        vbest = q['V'][rr, q['best']]
        tbest = q['T'][rr, q['best']]
        okA = vA >= vbest - tie_tol(vbest)
        okB = (~okA) & (vB >= vbest - tie_tol(vbest))
        third = ~okA & ~okB
        nlo = np.where(okA, sm, lo); ntA = np.where(okA, angA, tA)
        nhi = np.where(okB, sm, hi); ntB = np.where(okB, angB, tB)
        if third.any():
            nsplit += int(third.sum())
            # (lo, A, sm, C) and (sm, C, hi, B)
            nhi = np.where(third, sm, nhi); ntB = np.where(third, tbest, ntB)
            lo2 = sm[third]; tA2 = tbest[third]; hi2 = hi[third]; tB2 = tB[third]
            nlo = np.concatenate([nlo, lo2]); ntA = np.concatenate([ntA, tA2])
            nhi = np.concatenate([nhi, hi2]); ntB = np.concatenate([ntB, tB2])
        lo, hi, tA, tB = nlo, nhi, ntA, ntB
    kinks = np.sort(np.array(kinks))
    # merge kinks closer than 1e-10 (the same kink reached from two brackets)
    if kinks.size > 1:
        keep = np.concatenate([[True], np.diff(kinks) > 1e-10])
        kinks = kinks[keep]
    return kinks, dict(nflag=int(fi.size), nsliver=nsl, nsplit=nsplit)


# ----------------------------------------------------------------------------------------------
# inner integral along one line: adaptive GK 10/21 on the pieces between kinks
# ----------------------------------------------------------------------------------------------
def gk_pieces(fun, edges, tol, max_rounds=60, init_len=1.0, min_hw=1e-12, max_active=4000):
    """adaptive Gauss-Kronrod 10/21 of fun over [edges[0], edges[-1]]; the pieces [edges[i], edges[i+1]]
    are never straddled (first split to length <= init_len).  fun maps a 1-D array of points to values.
    An interval is accepted when |K21 - G10| <= tol * length / total length, or <= 8 eps_mach *
    integral of |f| (roundoff floor), or half-width < min_hw (or, as a safety cap, when more than
    max_active intervals would remain).  Returns (value = sum of K21, error =
    sum of |K21 - G10| over accepted intervals, #evaluations, #accepted intervals, #rounds)."""
    a_list = []; b_list = []
    for a, b in zip(edges[:-1], edges[1:]):
        if b <= a:
            continue
        k = max(1, int(math.ceil((b - a) / init_len - 1e-9)))
        e = np.linspace(a, b, k + 1)
        a_list.append(e[:-1]); b_list.append(e[1:])
    a = np.concatenate(a_list); b = np.concatenate(b_list)
    total_len = edges[-1] - edges[0]
    vals = []; errs = []; nev = 0; nint = 0; rnd = 0
    for rnd in range(max_rounds):
        if a.size == 0:
            break
        c = 0.5 * (a + b); hw = 0.5 * (b - a)
        X = c[:, None] + hw[:, None] * GK_X[None, :]
        Fx = np.asarray(fun(X.ravel())).reshape(X.shape)
        nev += X.size
        K = (Fx * GK_WK).sum(1) * hw
        G = (Fx * GK_WG).sum(1) * hw
        E = np.abs(K - G)
        resabs = (np.abs(Fx) * GK_WK).sum(1) * hw
        allow = np.maximum(tol * (b - a) / total_len, 8 * EPSM * resabs)   # roundoff floor
        acc = (E <= allow) | (hw < min_hw) | (rnd == max_rounds - 1)
        if 2 * int((~acc).sum()) > max_active:   # safety cap: accept everything (its |K-G| is counted)
            acc[:] = True
        vals.append(K[acc]); errs.append(E[acc]); nint += int(acc.sum())
        a2 = a[~acc]; b2 = b[~acc]; c2 = c[~acc]
        a = np.concatenate([a2, c2]); b = np.concatenate([c2, b2])
    val = math.fsum(np.concatenate(vals)) if vals else 0.0
    err = float(np.concatenate(errs).sum()) if errs else 0.0
    return val, err, nev, nint, rnd + 1


class Integrator:
    def __init__(self, model, T=9.0, scan_step=0.02, dstep=0.01, inner_tol=1e-14):
        self.model = model
        self.T = T
        sd = max(model.sd_inner, 1e-300)
        self.h = min(scan_step, dstep / sd)
        self.inner_tol = inner_tol
        self.log = []   # (zo, line value, err, nkinks)

    def line_integral(self, zo):
        m = self.model
        T = self.T
        if m.sd_inner == 0.0:
            d1, d2 = m.line(zo, np.zeros(1))
            return float(m.fvalue(d1, d2)[0]), 0.0, 0
        kinks, info = find_kinks(m, zo, T, self.h)
        edges = np.concatenate([[-T], kinks[(kinks > -T) & (kinks < T)], [T]])

        def fun(s):
            d1, d2 = m.line(zo, s)
            return m.fvalue(d1, d2) * phi(s)
        v, e, nev, nint, _ = gk_pieces(fun, edges, self.inner_tol)
        self.log.append((zo, v, e, kinks.size))
        return v, e, kinks.size

    def outer_integrand(self, zo):
        v, e, _ = self.line_integral(zo)
        return v * float(phi(zo))

    def kinks(self, zo):
        k, _ = find_kinks(self.model, zo, self.T, self.h)
        return k[np.abs(k) < self.T]

    def kink_count(self, zo):
        return int(self.kinks(zo).size)

    def window_gap(self, zo, lo, hi):
        """smallest distance between kinks inside [lo, hi] on line zo (0 if fewer than 2: merged)"""
        k = self.kinks(zo)
        k = k[(k >= lo) & (k <= hi)]
        return float(np.diff(k).min()) if k.size >= 2 else 0.0


# ----------------------------------------------------------------------------------------------
# parallel helpers (fork start method; globals set before the pool is created)
# ----------------------------------------------------------------------------------------------
_G = {}


def _kinks_task(zo):
    return _G['integ'].kinks(zo)


def _crossing_task(args):
    """golden-section minimisation over z_o of the gap between two adjacent kinks (V-shaped at an
    X-crossing of two kink curves)"""
    a, b, lo, hi = args
    integ = _G['integ']
    gr = (math.sqrt(5.0) - 1.0) / 2.0
    x1 = b - gr * (b - a); x2 = a + gr * (b - a)
    f1 = integ.window_gap(x1, lo, hi); f2 = integ.window_gap(x2, lo, hi)
    while b - a > 1e-10:
        if f1 <= f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - gr * (b - a); f1 = integ.window_gap(x1, lo, hi)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + gr * (b - a); f2 = integ.window_gap(x2, lo, hi)
    return 0.5 * (a + b), min(f1, f2)


def _bisect_task(args):
    a, ca, b, cb, tol = args
    integ = _G['integ']
    while b - a > tol:
        mid = 0.5 * (a + b)
        cm = integ.kink_count(mid)
        if cm != ca:
            b, cb = mid, cm
        else:
            a = mid
    return 0.5 * (a + b)


def _outer_task(zo):
    integ = _G['integ']
    v, e, nk = integ.line_integral(zo)
    w = float(phi(zo))
    return v * w, e * w


def _quad_task(args):
    a, b, epsabs = args
    integ = _G['integ']
    integ.log = []
    t0 = time.time()
    with warnings.catch_warnings(record=True) as wl:
        warnings.simplefilter('always')
        v, e, info = integrate.quad(integ.outer_integrand, a, b, epsabs=epsabs, epsrel=0.0, limit=1000,
                                    full_output=1)[:3]
    msgs = [str(w.message)[:80] for w in wl]
    inner_err_max = max([x[2] for x in integ.log] or [0.0])
    return dict(a=a, b=b, value=v, err=e, neval=info['neval'], nint=info['last'], inner_err_max=inner_err_max,
                warnings=msgs, time=time.time() - t0)


def pmap(fn, items, jobs):
    if jobs <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    import multiprocessing as mp
    ctx = mp.get_context('fork')
    with ctx.Pool(jobs) as pool:
        return pool.map(fn, items, chunksize=1)


# ----------------------------------------------------------------------------------------------
# the objective
# ----------------------------------------------------------------------------------------------
def tail_bound(model, T):
    """E[f ; |z_o| > T or |z_i| > T] <= (c0 + c1 E|z_o| + c2 E|z_i|) style bound:
    f <= log 3 + |m|_inf + |Lo|_inf |z_o| + |Li|_inf |z_i| + 2 beta max|Delta_k|."""
    c0 = math.log(3.0) + float(np.abs(model.m).max()) + 2.0 * model.beta * model.dmax
    co = float(np.abs(model.Lo).max()); ci = float(np.abs(model.Li).max())
    P = 2.0 * special.ndtr(-T)           # P(|z| > T)
    Ez = 2.0 * math.exp(-0.5 * T * T) / SQ2PI   # E[|z| ; |z| > T]
    # union of the two tails: each term bounded separately (z_o, z_i independent, E|z| <= 1)
    return 2.0 * (c0 * P + co * (Ez + P) + ci * (Ez + P))


def objective(beta, eps, w1, w2, sigma, mu=1.0, y=0, nscan=720, T=9.0, inner_tol=1e-14, outer_tol=1e-13,
              scan_step=0.02, dstep=0.01, break_step=0.02, outer_max_len=0.5, outer='gk', jobs=2, verbose=True):
    t0 = time.time()
    model = Model(beta, eps, w1, w2, sigma, mu=mu, y=y, nscan=nscan)
    integ = Integrator(model, T=T, scan_step=scan_step, dstep=dstep, inner_tol=inner_tol)
    _G['integ'] = integ
    # 1. break points of the outer integrand: changes of the number of kinks per inner line
    zg = np.linspace(-T, T, int(round(2 * T / break_step)) + 1)
    KL = pmap(_kinks_task, list(zg), jobs)
    counts = np.array([k.size for k in KL])
    ch = np.nonzero(np.diff(counts) != 0)[0]
    tasks = [(zg[i], int(counts[i]), zg[i + 1], int(counts[i + 1]), 1e-10) for i in ch]
    brk = pmap(_bisect_task, tasks, jobs)
    # X-crossings of kink curves (count unchanged): local minima of the gap between adjacent kinks
    ctasks = []
    for i in range(1, len(zg) - 1):
        c = counts[i]
        if c < 2 or counts[i - 1] != c or counts[i + 1] != c:
            continue
        gp, g0, gn = np.diff(KL[i - 1]), np.diff(KL[i]), np.diff(KL[i + 1])
        for j in np.nonzero((g0 <= gp) & (g0 < gn) & (g0 < 0.5))[0]:
            pos = np.concatenate([KL[i - 1][j:j + 2], KL[i][j:j + 2], KL[i + 1][j:j + 2]])
            ctasks.append((zg[i - 1], zg[i + 1], pos.min() - 1e-3, pos.max() + 1e-3))
    cres = pmap(_crossing_task, ctasks, jobs)
    cross = [z for z, g in cres if g < 1e-6]
    brk = list(brk) + cross
    t1 = time.time()
    if verbose:
        print('inner scan step %.4g (z units); kink counts on the z_o grid: %s' %
              (integ.h, {int(k): int(v) for k, v in zip(*np.unique(counts, return_counts=True))}), flush=True)
        print('break points: %d count changes, %d kink-curve crossings (of %d gap minima): %s  [%.0fs]' %
              (len(brk) - len(cross), len(cross), len(ctasks), ' '.join('%.10f' % b for b in sorted(brk)), t1 - t0),
              flush=True)
    edges = np.concatenate([[-T], np.sort(np.array(brk)), [T]])
    edges = edges[np.concatenate([[True], np.diff(edges) > 1e-12])]
    if outer == 'gk':
        # 2. outer: parallel adaptive Gauss-Kronrod 10/21 with the plain |K21 - G10| error
        import multiprocessing as mp
        pool = mp.get_context('fork').Pool(jobs) if jobs > 1 else None
        # inner errors: the integral of phi * (line error) is <= max over the nodes of the line error
        inner_max = [0.0]

        def fmap2(X):
            X = list(map(float, X))
            R = pool.map(_outer_task, X, chunksize=max(1, len(X) // (4 * jobs))) if pool else list(map(_outer_task, X))
            inner_max[0] = max([inner_max[0]] + [r[1] / max(float(phi(x)), 1e-300) for x, r in zip(X, R)])
            return np.array([r[0] for r in R])
        value, err_quad, neval, nint, nrounds = gk_pieces(fmap2, edges, outer_tol, init_len=outer_max_len,
                                                          min_hw=1e-9, max_rounds=100)
        if pool:
            pool.close(); pool.join()
        err_inner = inner_max[0]
        qinfo = 'outer adaptive GK: %d intervals, %d rounds' % (nint, nrounds)
    else:
        # 2'. outer scipy quad on the sub-intervals (split to length <= outer_max_len)
        ee = [edges[0]]
        for a_, b_ in zip(edges[:-1], edges[1:]):
            k = max(1, int(math.ceil((b_ - a_) / outer_max_len - 1e-9)))
            ee.extend(list(np.linspace(a_, b_, k + 1)[1:]))
        edges = np.array(ee)
        nsub = len(edges) - 1
        qt = [(float(edges[i]), float(edges[i + 1]), outer_tol / nsub) for i in range(nsub)]
        order = sorted(range(nsub), key=lambda i: -(qt[i][1] - qt[i][0]))
        res = pmap(_quad_task, [qt[i] for i in order], jobs)
        res = sorted(res, key=lambda r: r['a'])
        value = math.fsum(r['value'] for r in res)
        err_quad = math.fsum(r['err'] for r in res)
        err_inner = max(r['inner_err_max'] for r in res)
        neval = sum(r['neval'] for r in res)
        if verbose:
            for r in res:
                print('  [% .6f, % .6f] %.17g err %.2e neval %d nint %d inner_err<=%.1e %.0fs %s' %
                      (r['a'], r['b'], r['value'], r['err'], r['neval'], r['nint'], r['inner_err_max'], r['time'],
                       '; '.join(set(r['warnings']))), flush=True)
        qinfo = 'outer scipy quad on %d sub-intervals (QUADPACK error estimates)' % nsub
    err_tail = tail_bound(model, T)
    err = err_quad + err_inner + err_tail
    t2 = time.time()
    if verbose:
        print(qinfo, flush=True)
    return dict(value=value, err=err, err_quad=err_quad, err_inner=err_inner, err_tail=err_tail,
                breakpoints=list(map(float, brk)), time=t2 - t0, time_breaks=t1 - t0, neval=neval)


# ----------------------------------------------------------------------------------------------
# self checks
# ----------------------------------------------------------------------------------------------
def selfcheck(beta, eps, w1, w2, sigma, mu=1.0, nscan=720, seed=1, n=400):
    rng = np.random.default_rng(seed)
    model = Model(beta, eps, w1, w2, sigma, mu=mu, nscan=nscan)
    fine = Model(beta, eps, w1, w2, sigma, mu=mu, nscan=20000)
    # random margin points: half from the model, half near the kink structure around the origin
    z = rng.standard_normal((n // 2, 2))
    d = model.m[None, :] + z[:, :1] * model.Lo[None, :] + z[:, 1:] * model.Li[None, :]
    d = np.concatenate([d, rng.uniform(-3, 3, (n - n // 2, 2))])
    d1, d2 = d[:, 0].copy(), d[:, 1].copy()
    v = model.peaks(d1, d2)['V'].max(1)
    a0, p1, p2 = fine.clean(d1, d2)
    F = fine.kl_grid(d1, d2, a0, p1, p2)
    vf = F.max(1)
    # golden section around the best fine-grid angle
    j = F.argmax(1)
    lo = fine.th[j] - fine.h; hi = fine.th[j] + fine.h
    gr = (math.sqrt(5) - 1) / 2
    for _ in range(80):
        x1 = hi - gr * (hi - lo); x2 = lo + gr * (hi - lo)
        f1 = fine.kl_t(d1, d2, a0, p1, p2, x1, deriv=False); f2 = fine.kl_t(d1, d2, a0, p1, p2, x2, deriv=False)
        left = f1 > f2
        hi = np.where(left, x2, hi); lo = np.where(left, lo, x1)
    vg = np.maximum(vf, fine.kl_t(d1, d2, a0, p1, p2, 0.5 * (lo + hi), deriv=False))
    print('selfcheck inner max on %d points: max(scan20000 - ours) = %.3e, max(scan20000+golden - ours) = %.3e, '
          'max(ours - scan20000+golden) = %.3e' % (n, (vf - v).max(), (vg - v).max(), (v - vg).max()))
    # SLSQP over the 6-D sphere for a few points (full logits, class 0)
    W = model.W
    worst = 0.0
    for i in range(12):
        x = mu * M[0] + sigma * rng.standard_normal(6) * M[0]
        if i >= 6:   # push toward the origin of margin space
            x = x * rng.uniform(0.0, 0.4)
        zc = W @ x
        lp = zc - special.logsumexp(zc)
        pcl = np.exp(lp)

        def negkl(dl):
            za = W @ (x + dl)
            return -(pcl @ (lp - (za - special.logsumexp(za))))
        best = -np.inf
        for r in range(30):
            u = rng.standard_normal(6); u *= eps / np.linalg.norm(u)
            o = optimize.minimize(negkl, u, method='SLSQP',
                                  constraints=[{'type': 'ineq', 'fun': lambda dl: eps ** 2 - dl @ dl}],
                                  options=dict(ftol=1e-15, maxiter=500))
            xs = o.x * (eps / np.linalg.norm(o.x))   # back onto the sphere (SLSQP may overshoot slightly)
            best = max(best, -negkl(xs))
        dd = model.D @ x
        ours = model.peaks(np.array([dd[0]]), np.array([dd[1]]))['V'].max()
        worst = max(worst, best - ours)
    print('selfcheck vs SLSQP on the 6-D sphere (12 points, 30 starts): max(SLSQP - ours) = %.3e' % worst)


def monte_carlo(beta, eps, w1, w2, sigma, mu, n, seed=7):
    """all three classes, full 6-D model, inner max by our angle maximiser of the class's own ellipse"""
    rng = np.random.default_rng(seed)
    out = []
    for y in range(3):
        model = Model(beta, eps, w1, w2, sigma, mu=mu, y=y, nscan=720)
        vals = []
        for _ in range(n // 3 // 20000 + 1):
            x = (mu + sigma * rng.standard_normal((20000, 6))) * M[y]
            d = x @ model.D.T
            vals.append(model.fvalue(d[:, 0].copy(), d[:, 1].copy()))
        out.append(np.concatenate(vals))
    allv = np.concatenate(out)
    return float(allv.mean()), float(allv.std(ddof=1) / math.sqrt(allv.size)), [float(o.mean()) for o in out]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('beta', type=float); ap.add_argument('eps', type=float)
    ap.add_argument('w1', type=float); ap.add_argument('w2', type=float)
    ap.add_argument('sigma', type=float, nargs='?', default=0.5)
    ap.add_argument('--mu', type=float, default=1.0)
    ap.add_argument('--class', dest='y', type=int, default=0)
    ap.add_argument('--nscan', type=int, default=720)
    ap.add_argument('--T', type=float, default=9.0)
    ap.add_argument('--inner-tol', type=float, default=1e-14)
    ap.add_argument('--outer-tol', type=float, default=1e-13)
    ap.add_argument('--scan-step', type=float, default=0.02)
    ap.add_argument('--dstep', type=float, default=0.01)
    ap.add_argument('--break-step', type=float, default=0.02)
    ap.add_argument('--outer-max-len', type=float, default=0.5)
    ap.add_argument('--outer', choices=['gk', 'quad'], default='gk')
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--selfcheck', action='store_true')
    ap.add_argument('--mc', type=int, default=0)
    ap.add_argument('--quiet', action='store_true')
    a = ap.parse_args()
    if a.selfcheck:
        selfcheck(a.beta, a.eps, a.w1, a.w2, a.sigma, a.mu, a.nscan)
    if a.mc:
        m, se, per = monte_carlo(a.beta, a.eps, a.w1, a.w2, a.sigma, a.mu, a.mc)
        print('monte carlo (%d samples, 3 classes): %.6f +- %.6f  per class %s' % (a.mc, m, se, per))
    r = objective(a.beta, a.eps, a.w1, a.w2, a.sigma, mu=a.mu, y=a.y, nscan=a.nscan, T=a.T,
                  inner_tol=a.inner_tol, outer_tol=a.outer_tol, scan_step=a.scan_step, dstep=a.dstep,
                  break_step=a.break_step, outer_max_len=a.outer_max_len, outer=a.outer, jobs=a.jobs, verbose=not a.quiet)
    print('R = %.17g' % r['value'])
    print('error estimate = %.2e  (outer quad %.1e, inner %.1e, tail %.1e)' %
          (r['err'], r['err_quad'], r['err_inner'], r['err_tail']))
    print('time = %.1f s  (break points %.1f s, %d outer evaluations)' % (r['time'], r['time_breaks'], r['neval']))


if __name__ == '__main__':
    main()
