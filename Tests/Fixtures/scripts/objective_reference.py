#!/usr/bin/env python3
"""Independent reference values for robust adversarial-training objectives, their optima over
the symmetric family W(w1, w2) and the thresholds eps0 / eps1, for the paper3 Gaussian model
(Tests/Fixtures/CONVENTIONS.md; tau = 0, no noise dims, no bias, w1, w2 >= 0).

Writes (paths relative to Tests/Fixtures/):
  objective_reference.json   R(W(w1,w2); eps) for ce, ls, trades, hinge, worst-margin, zero-one
  optimum_reference.json     argmin over (w1, w2) >= 0 (free / fixed radius / weight decay)
  threshold_reference.json   eps0 (eps1 for ls) by bisection on the numerical one-sided slope test

Method (deliberately different from ccsim's Swift implementation, which enumerates the vertices
of the 2-D zonotope of logit differences and uses nested adaptive quadrature over a 2-D Gaussian):

* Inner maximisation, l_inf: brute force over all 2^6 = 64 vertices of the box (valid since every
  loss is convex in delta).  The 64 logit perturbations are deduplicated modulo a common shift
  (the losses are shift invariant); the fixture values of ce/ls/trades are also recomputed with
  all deduplicated vertices (49 generically) in the cross-check evaluator, while the main one
  keeps the vertices of the convex hull of the 64 logit-difference points (scipy ConvexHull);
  both must agree.
* Inner maximisation, l_2: the image of the l2 ball in logit-difference space is an ellipse;
  the max of the convex loss is on its boundary: dense angle grid + golden section, checked
  against SLSQP over the sphere ||delta||_2 = eps in R^6 (random starts).
* Margin losses (hinge, worst-margin, zero-one): closed-form robust margins
  m_k = (w_y - w_k).x - eps ||w_y - w_k||_q; the expectation conditions on B = min(b2, b3)
  (density 2 phi (1 - Phi)) and integrates the exclusive feature a in closed form (scipy quad,
  cross-checked with composite Gauss-Legendre).  THEORY.md conditions on a instead.
* Outer expectation for ce / ls / trades (l_inf), class 1, x = (a, 0, 0, 0, b2, b3):
  3-D over (a, u = (b2 - b3)/sqrt2, v = (b2 + b3)/sqrt2): for every (u, v) node the integral in
  a is done exactly piecewise (composite Gauss-Legendre; where the maximising vertex changes
  between sample points the switch is located by bisection and the cell split there, so the
  integrand is smooth on every piece), u by vectorised adaptive Gauss-Kronrod (7-15) on [0, 8.5]
  (the integrand is even in u), v by Gauss-Hermite (12 nodes).  Cross-check: a second evaluator
  integrating along c = the direction of x on which the logits depend ((w1, w2/sqrt2) in the
  (a, v) plane; the orthogonal direction integrates to 1) and u adaptively.  The optimiser uses
  that second (faster) evaluator.  abs_error_estimate = 2 |3-D - 2-D| + Gauss-Kronrod estimates.
* Monte Carlo check of every objective value (fixed seeds; all three classes sampled from the
  full model; brute force inner max): |z| < 5 is asserted.  By symmetry every class gives the
  same value: checked numerically for classes 2 and 3.
* Optima: coarse polar grid, then (free / weight decay) the axis optimum w1 at w2 = 0 plus a
  numerical one-sided slope test (Richardson from F(w1, h), F(w1, 2h)); otherwise damped Newton
  with finite differences; (fixed radius) a 33-point angle grid + bounded Brent, theta = 0 decided
  by the same one-sided slope test.  tolerance = 10 x (shift between the fast and the fine
  evaluator + last Newton step), floor 1e-7 |w|.
* Thresholds: scan on eps = 0.02, 0.04, ..., 0.48, 0.49, 0.495, 0.499 of "w2* = 0": the slope
  test passes and, where the objective is not convex in (w1, w2) (fixed radius, trades), no point
  of a 32-point angle grid (refined by Brent) / of the polar grid is lower than the axis optimum;
  bisection of the last change (bracket width <= 2e-7); for a continuous transition the slope sign
  is re-checked with the fine evaluator; the full optimiser is run on both sides (w2* > 0 below,
  w2* = 0 above) and must agree.

Usage: python3 objective_reference.py [--jobs 2] [--only objective,optimum,threshold] [--findings]
The script is deterministic: rerunning it with the same numpy/scipy produces the same bytes.
"""
import os
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')
os.environ.setdefault('MKL_NUM_THREADS', '1')
import sys, json, time, argparse, warnings
warnings.filterwarnings('ignore', message='.*roundoff error.*')
import numpy as np, itertools, math
from numpy.polynomial.legendre import leggauss
from numpy.polynomial.hermite_e import hermegauss

# ---------------- model: paper3 ----------------
# features (E1,E2,E3,C1,C2,C3); M[y,Ej]=[j==y], M[y,Cj]=[j!=y]
M = np.zeros((3,6),dtype=int)
for y in range(3):
    M[y,y] = 1
    for j in range(3):
        if j != y: M[y,3+j] = 1
COLSUM = M.sum(0)

def Wmat(w1, w2):
    W = np.zeros((3,6))
    for k in range(3):
        for f in range(6):
            if M[k,f]:
                W[k,f] = w1 if COLSUM[f]==1 else w2
    return W

VERT = np.array(list(itertools.product([-1.0,1.0],repeat=6)))  # 64 x 6

def class_features(y):
    """exclusive feature index and the two cross-class features class y has (ascending)."""
    ex = [f for f in range(6) if M[y,f] and COLSUM[f]==1][0]
    cr = [f for f in range(6) if M[y,f] and COLSUM[f]>1]
    return ex, cr

# ---------------- losses (vectorised; Z last axis = 3 logits) ----------------
def lse(Z):
    m = Z.max(-1, keepdims=True)
    return m[...,0] + np.log(np.exp(Z-m).sum(-1))

class Loss:
    """loss(Zc, D, y): Zc (...,3) clean logits, D (U,3) logit perturbations -> (...,U)"""
    def __init__(self, kind, param=None):
        self.kind, self.param = kind, param
    def __call__(self, Zc, D, y):
        Za = Zc[...,None,:] + D          # (...,U,3)
        if self.kind == 'ce':
            return lse(Za) - Za[...,y]
        if self.kind == 'ls':
            a = self.param
            q = np.full(3, a/2.0); q[y] = 1.0-a
            return lse(Za) - Za @ q
        if self.kind == 'trades':
            b = self.param
            l0 = lse(Zc)
            p = np.exp(Zc - l0[...,None])
            nat = l0 - Zc[...,y]
            kl = lse(Za) - l0[...,None] - np.einsum('...uk,...k->...u', Za - Zc[...,None,:], p)
            return nat[...,None] + b*kl
        raise ValueError(self.kind)

def unique_perturbations(W, eps):
    """all 64 vertex logit perturbations, deduplicated modulo adding a constant to all logits"""
    D = eps * VERT @ W.T
    Dn = D - D[:, :1]
    scale = max(1.0, np.abs(D).max())
    key = np.round(Dn/scale, 11)
    _, idx = np.unique(key, axis=0, return_index=True)
    return D[np.sort(idx)]

GL_CACHE = {}
def gl(m):
    if m not in GL_CACHE: GL_CACHE[m] = leggauss(m)
    return GL_CACHE[m]
SQ2PI = math.sqrt(2*math.pi)
def phi(t): return np.exp(-0.5*t*t)/SQ2PI

def line_integrals(loss, y, Bz, g, D, edges, m, full_max=True, chunk=None, tie=1e-12):
    """For each line l: integral over t in [edges[0], edges[-1]] of max_v loss(Bz[l] + t g + D_v) phi(t) dt.
    Brute force max over the rows of D at every sample point (cell edges and Gauss-Legendre nodes);
    where the maximising vertex changes between two consecutive sample points, the switch is located
    by bisection (recursively, if a third vertex is larger at the switch) and the cell is split there.
    Returns (values (L,), number of switches located)."""
    L = Bz.shape[0]; U = D.shape[0]; C = len(edges)-1
    xg, wg = gl(m)
    lo_e = edges[:-1]; hi_e = edges[1:]; half = 0.5*(hi_e-lo_e); mid = 0.5*(hi_e+lo_e)
    P = np.concatenate([lo_e[:,None], mid[:,None]+half[:,None]*xg[None,:], hi_e[:,None]], 1)  # (C, m+2)
    out = np.zeros(L); nsw = 0
    if chunk is None: chunk = max(1, int(3e6 // (C*(m+2)*U*3)))
    for s0 in range(0, L, chunk):
        B = Bz[s0:s0+chunk]; Lc = B.shape[0]
        Z = B[:,None,None,:] + P[None,:,:,None]*g                 # (Lc, C, m+2, 3)
        F = loss(Z, D, y)                                          # (Lc, C, m+2, U)
        am = F.argmax(-1); Fm = np.take_along_axis(F, am[...,None], -1)[...,0]
        # label of each sample point kept if still within tie tolerance of the max at the next point
        Fnext_lab = np.take_along_axis(F[:,:,1:,:], am[:,:,:-1,None], -1)[...,0]
        brk = Fnext_lab < Fm[:,:,1:] - tie*(1.0+np.abs(Fm[:,:,1:]))  # (Lc, C, m+1) switch between k,k+1
        bad = brk.any(-1)                                           # (Lc, C)
        # consistent cells: GL with the brute-force max at the nodes
        val_cells = (Fm[:,:,1:-1]*phi(P[None,:,1:-1])*wg[None,None,:]).sum(-1)*half[None,:]
        val_cells[bad] = 0.0
        tot = val_cells.sum(1)
        if bad.any():
            bl, bc, bk = np.nonzero(brk)          # switch intervals between sample k and k+1
            pl = bl; plo = P[bc, bk].copy(); phi_ = P[bc, bk+1].copy()
            pa = am[bl, bc, bk]; pb = am[bl, bc, bk+1]; pcell = bc
            SW_l = []; SW_c = []; SW_t = []
            it = 0
            while len(pl) > 0:
                it += 1
                if it > 60: raise RuntimeError('switch refinement did not terminate')
                nsw += len(pl)
                lo, hi = plo.copy(), phi_.copy()
                r = np.arange(len(pl))
                for _ in range(50):
                    md = 0.5*(lo+hi)
                    Fd = loss(B[pl] + md[:,None]*g, D, y)
                    left = Fd[r,pa] - Fd[r,pb] > 0
                    lo = np.where(left, md, lo); hi = np.where(left, hi, md)
                ts = 0.5*(lo+hi)
                Fd = loss(B[pl] + ts[:,None]*g, D, y)
                top = Fd.argmax(-1); ref = np.maximum(Fd[r,pa], Fd[r,pb])
                third = (Fd[r,top] > ref + tie*(1.0+np.abs(ref))) & (top != pa) & (top != pb)
                SW_l.append(pl); SW_c.append(pcell); SW_t.append(ts)
                k = top[third]
                pl, pcell = np.concatenate([pl[third], pl[third]]), np.concatenate([pcell[third], pcell[third]])
                plo, phi_ = np.concatenate([plo[third], ts[third]]), np.concatenate([ts[third], phi_[third]])
                pa, pb = np.concatenate([pa[third], k]), np.concatenate([k, pb[third]])
            # sub-intervals of each bad cell split at the switch points
            cl, cc = np.nonzero(bad)
            Ls = np.concatenate([cl] + SW_l + [cl]); Cs = np.concatenate([cc] + SW_c + [cc])
            Ts = np.concatenate([lo_e[cc]] + SW_t + [hi_e[cc]])
            o = np.lexsort((Ts, Cs, Ls)); Ls, Cs, Ts = Ls[o], Cs[o], Ts[o]
            same = (Ls[1:] == Ls[:-1]) & (Cs[1:] == Cs[:-1])
            a_ = Ts[:-1][same]; b_ = Ts[1:][same]; il = Ls[:-1][same]
            hh = 0.5*(b_-a_); cm = 0.5*(b_+a_)
            TT = cm[:,None] + hh[:,None]*xg[None,:]
            Fs = loss(B[il][:,None,:] + TT[...,None]*g, D, y).max(-1)
            vs = (Fs*phi(TT)*wg[None,:]).sum(1)*hh
            tot += np.bincount(il, weights=vs, minlength=Lc)
        out[s0:s0+Lc] = tot
    return out, nsw

def hull_perturbations(D):
    """rows of D that are vertices of the convex hull of the logit-difference points (z_k - z_j)"""
    from scipy.spatial import ConvexHull
    P2 = np.stack([D[:,0]-D[:,1], D[:,0]-D[:,2]], 1)
    if np.ptp(P2, 0).min() < 1e-12*max(1.0, np.abs(P2).max()):
        # degenerate (segment or point): keep extreme points along the main direction
        d = P2 - P2.mean(0); ax = d[np.argmax((d**2).sum(1))]
        pr = d @ ax
        return D[np.unique([np.argmin(pr), np.argmax(pr)])]
    h = ConvexHull(P2)
    return D[np.sort(h.vertices)]

# Gauss-Kronrod 7-15 nodes/weights on [-1,1]
_XK = np.array([-0.991455371120812639206854697526329, -0.949107912342758524526189684047851,
 -0.864864423359769072789712788640926, -0.741531185599394439863864773280788,
 -0.586087235467691130294144845693013, -0.405845151377397166906606412076961,
 -0.207784955007898467600689403773245, 0.0, 0.207784955007898467600689403773245,
 0.405845151377397166906606412076961, 0.586087235467691130294144845693013,
 0.741531185599394439863864773280788, 0.864864423359769072789712788640926,
 0.949107912342758524526189684047851, 0.991455371120812639206854697526329])
_WK = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
 0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
 0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
 0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
 0.204432940075298892414161999234649, 0.190350578064785409913256402421014,
 0.169004726639267902826583426598550, 0.140653259715525918745189590510238,
 0.104790010322250183839876322541518, 0.063092092629978553290700663189204,
 0.022935322010529224963732008058970])
_WG = np.zeros(15)
_WG[[1,3,5,7,9,11,13]] = [0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
 0.381830050505118944950369775488975, 0.417959183673469387755102040816327,
 0.381830050505118944950369775488975, 0.279705391489276667901467771423780,
 0.129484966168869693270611432679082]

def R_adapt(loss, w1, w2, eps, mu, sig, y=0, nv=12, tol=1e-11, ha=None, m=6, T=8.5, Tu=8.5,
            nu0=8, full_max=True, info=None, max_rounds=40, prune=False, dscale=0.5, inner=None):
    """3-D evaluator for class y over (a, u, v): a = exclusive feature, u = (b0-b1)/sqrt2,
    v = (b0+b1)/sqrt2 (b0, b1 the class's two cross-class features), all standardised.
    The inner variable (a, or v when w2/sqrt2 > w1) is integrated exactly piecewise by
    line_integrals; u by vectorised adaptive G7K15 on [0, Tu] (integrand even in u); the remaining
    variable (v, or a) by Gauss-Hermite with nv nodes."""
    W = Wmat(w1, w2)
    D = unique_perturbations(W, eps)
    if prune: D = hull_perturbations(D)
    ex, cr = class_features(y)
    if inner is None:
        inner = 'a' if w1 >= w2/math.sqrt(2) else 'v'
    e_a = np.zeros(6); e_a[ex] = 1.0
    e_v = np.zeros(6); e_v[cr[0]] = e_v[cr[1]] = 1.0/math.sqrt(2)
    e_u = np.zeros(6); e_u[cr[0]] = 1.0/math.sqrt(2); e_u[cr[1]] = -1.0/math.sqrt(2)
    e_in, e_out = (e_a, e_v) if inner == 'a' else (e_v, e_a)
    g = sig*(W @ e_in)
    scl = float(np.abs(W @ e_in).max())*sig
    if ha is None:
        ha = min(0.25, dscale/max(scl, 1e-300))
    nc = int(math.ceil(2*T/ha)); edges = np.linspace(-T, T, nc+1)
    x0 = np.zeros(6); x0[ex] = mu; x0[cr[0]] = mu; x0[cr[1]] = mu
    tot_sw = 0
    def lines(X):
        nonlocal tot_sw
        K, nsw = line_integrals(loss, y, X @ W.T, g, D, edges, m, full_max=full_max)
        tot_sw += nsw
        return K
    if w2 == 0.0:
        # the cross-class features do not enter the logits: one line
        val = float(lines(x0[None, :])[0])
        if info is not None: info.update(nsw=tot_sw, U=D.shape[0], lines=1, err_u=0.0, ha=ha, inner=inner)
        return val
    tv, wv = hermegauss(nv); wv = wv/SQ2PI
    def Kuv(u):   # u: (n,) -> (n, nv) values of 2*phi(u)*K(u, other)
        U_, V_ = np.meshgrid(u, tv, indexing='ij')
        X = x0[None, :] + sig*(U_.ravel()[:, None]*e_u[None, :] + V_.ravel()[:, None]*e_out[None, :])
        K = lines(X).reshape(U_.shape)
        return K * (2.0*phi(u))[:, None]
    def gk(lo, hi):
        c = 0.5*(lo+hi); h = 0.5*(hi-lo)
        uu = (c[:, None] + h[:, None]*_XK[None, :]).ravel()
        F = Kuv(uu).reshape(len(lo), 15, nv) @ wv
        Ik = (F @ _WK)*h
        return Ik, np.abs(Ik - (F @ _WG)*h)
    a = np.linspace(0, Tu, nu0+1)
    lo, hi = a[:-1], a[1:]
    Ik, err = gk(lo, hi); nlines = 15*len(lo)*nv
    for rnd in range(max_rounds):
        if err.sum() <= tol: break
        split = err >= max(tol/(4*len(lo)), 0.05*err.max())
        c = 0.5*(lo[split]+hi[split])
        nlo = np.concatenate([lo[split], c]); nhi = np.concatenate([c, hi[split]])
        nI, ne = gk(nlo, nhi); nlines += 15*len(nlo)*nv
        lo = np.concatenate([lo[~split], nlo]); hi = np.concatenate([hi[~split], nhi])
        Ik = np.concatenate([Ik[~split], nI]); err = np.concatenate([err[~split], ne])
    order = np.argsort(lo, kind='stable')
    done_val = float(Ik[order].sum()); done_err = float(err.sum())
    if info is not None: info.update(nsw=tot_sw, U=D.shape[0], lines=nlines, err_u=done_err, ha=ha, rounds=rnd+1, inner=inner)
    return done_val

def R2(loss, w1, w2, eps, mu, sig, y=0, urule=('adapt', 1e-10), ha=None, m=6, T=8.5, Tu=8.5, nu0=8,
       full_max=True, info=None, max_rounds=40, prune=False, dscale=0.5):
    """Reduced evaluator: lines along c = projection of (x_E, (x_C+x_C')/sqrt2) on the direction (w1, w2/sqrt2)
    (the logits do not depend on the orthogonal direction); outer u=(b0-b1)/sqrt2 on [0,Tu] (even)."""
    W = Wmat(w1, w2)
    D = unique_perturbations(W, eps)
    if prune: D = hull_perturbations(D)
    ex, cr = class_features(y)
    nrm = math.hypot(w1, w2/math.sqrt(2))
    e = np.zeros(6); e[ex] = w1/nrm; e[cr[0]] = e[cr[1]] = 0.5*w2/nrm   # unit direction in x-space
    g = sig*(W @ e)
    if ha is None: ha = min(0.25, dscale/max(nrm*sig, 1e-300))
    nc = int(math.ceil(2*T/ha)); edges = np.linspace(-T, T, nc+1)
    tot = {'sw':0, 'lines':0}
    x0 = np.zeros(6); x0[ex] = mu; x0[cr[0]] = mu; x0[cr[1]] = mu
    def K(u):
        X = np.repeat(x0[None,:], len(u), 0)
        X[:,cr[0]] += sig*u/math.sqrt(2); X[:,cr[1]] -= sig*u/math.sqrt(2)
        vals, nsw = line_integrals(loss, y, X @ W.T, g, D, edges, m, full_max=full_max)
        tot['sw'] += nsw; tot['lines'] += len(u)
        return vals*2.0*phi(u)
    if w2 == 0.0:
        val = float(K(np.array([0.0]))[0])/(2.0*phi(0.0)); err = 0.0
    elif urule[0] == 'fixed':
        ncell = urule[1]; mm = urule[2]
        e_ = np.linspace(0, Tu, ncell+1); xg, wg = gl(mm)
        c = 0.5*(e_[:-1]+e_[1:]); h = 0.5*np.diff(e_)
        uu = (c[:,None]+h[:,None]*xg).ravel(); ww = (h[:,None]*wg).ravel()
        val = float(K(uu) @ ww); err = float('nan')
    else:
        tol = urule[1]
        def gk(lo, hi):
            c = 0.5*(lo+hi); h = 0.5*(hi-lo)
            F = K((c[:,None] + h[:,None]*_XK[None,:]).ravel()).reshape(len(lo), 15)
            Ik = (F @ _WK)*h
            return Ik, np.abs(Ik - (F @ _WG)*h)
        a = np.linspace(0, Tu, nu0+1); lo, hi = a[:-1], a[1:]
        Ik, er = gk(lo, hi)
        for rnd in range(max_rounds):
            if er.sum() <= tol: break
            split = er >= max(tol/(4*len(lo)), 0.05*er.max())
            c = 0.5*(lo[split]+hi[split])
            nlo = np.concatenate([lo[split], c]); nhi = np.concatenate([c, hi[split]])
            nI, ne = gk(nlo, nhi)
            lo = np.concatenate([lo[~split], nlo]); hi = np.concatenate([hi[~split], nhi])
            Ik = np.concatenate([Ik[~split], nI]); er = np.concatenate([er[~split], ne])
        order = np.argsort(lo, kind='stable')
        val = float(Ik[order].sum()); err = float(er.sum())
    if info is not None: info.update(nsw=tot['sw'], lines=tot['lines'], U=D.shape[0], err_u=err, ha=ha)
    return val

# =====================================================================================
# Margin-based objectives (hinge, worst-margin, zero-one): closed-form robust margins
#   m_k = (w_y - w_k).x - eps*||w_y - w_k||_q ; for the symmetric family and class 1:
#   m_k = w1 a + w2 b_k - c,  c = eps*2(w1+w2) (linf) or eps*sqrt(2(w1^2+w2^2)) (l2),
#   min_k m_k = w1 a + w2 B - c with B = min(b2, b3).  We condition on B (density of the
#   minimum of two iid normals, 2 phi(t) (1 - Phi(t))) and integrate a in closed form.
#   (THEORY.md conditions on a instead: this is a different 1-D integral.)
# =====================================================================================
from scipy import integrate, special, optimize

def Phi(x): return 0.5*special.erfc(-x/math.sqrt(2.0))

def dual_norm_coeff(w1, w2, norm):
    # ||w_1 - w_2||_q for the symmetric family (class-1 row minus class-2 row), computed from W
    W = Wmat(w1, w2); d = W[0]-W[1]
    return float(np.abs(d).sum()) if norm == 'linf' else float(np.sqrt((d*d).sum()))

def margin_objective(kind, w1, w2, eps, mu, sig, norm='linf', kappa=None, want_err=False):
    c = eps*dual_norm_coeff(w1, w2, norm)
    dens = lambda t: 2.0*math.exp(-0.5*t*t)/SQ2PI*Phi(-t)
    if kind == 'worst-margin':
        g = lambda t: -(w1*mu + w2*(mu+sig*t) - c)
    elif kind == 'hinge':
        def g(t):
            mX = kappa + c - w2*(mu+sig*t) - w1*mu; s = w1*sig
            if s == 0: return max(mX, 0.0)
            z = mX/s
            return mX*Phi(z) + s*math.exp(-0.5*z*z)/SQ2PI
    elif kind == 'zero-one':
        def g(t):
            num = w1*mu + w2*(mu+sig*t) - c
            if w1 == 0: return 0.0 if num > 0 else 1.0
            return Phi(-num/(w1*sig))
    else:
        raise ValueError(kind)
    f = lambda t: g(t)*dens(t)
    val, err = integrate.quad(f, -13.0, 13.0, epsabs=1e-15, epsrel=1e-14, limit=500,
                              points=[-2.0, 0.0, 2.0])
    if want_err:
        # independent check: composite Gauss-Legendre (260 cells x 10 nodes) on [-13, 13]
        xg, wg = gl(10); e = np.linspace(-13, 13, 261); cm = 0.5*(e[1:]+e[:-1]); hh = 0.5*np.diff(e)
        tt = (cm[:,None]+hh[:,None]*xg).ravel(); ww = (hh[:,None]*wg).ravel()
        v2 = float(sum(w*f(t) for t, w in zip(tt, ww)))
        return val, max(err, abs(val-v2))
    return val

def worst_margin_closed(w1, w2, eps, mu, sig, norm='linf'):
    c = eps*dual_norm_coeff(w1, w2, norm)
    return -(w1*mu + w2*(mu - sig/math.sqrt(math.pi)) - c)

# =====================================================================================
# l2 threat model for ce / ls / trades.  Image of the l2 ball under delta -> (z_1-z_2, z_1-z_3)
# is the ellipse {S s : ||s|| <= eps}, S = (G G^T)^(1/2); a convex loss attains its max on the
# boundary, parametrised by an angle: dense grid (96) + golden-section refinement around the two
# best grid points.  Checked against direct maximisation over the sphere in R^6 (SLSQP, random
# starts) in self_checks().
# =====================================================================================
def l2_ellipse(W, y):
    others = [k for k in range(3) if k != y]
    G = np.stack([W[y]-W[others[0]], W[y]-W[others[1]]])   # 2x6
    ev, Q = np.linalg.eigh(G @ G.T)
    S = Q @ np.diag(np.sqrt(np.maximum(ev, 0))) @ Q.T
    return S, others

def l2_inner_max(loss, Zc, W, eps, y, ngrid=96, iters=45):
    """Zc (N,3) clean logits -> (N,) max over ||delta||_2 <= eps of loss(Zc + W delta)."""
    S, others = l2_ellipse(W, y)
    def Dth(th):   # full-logit perturbation with z_y - z_k = (S [cos, sin] eps)_k
        dd = eps*(np.stack([np.cos(th), np.sin(th)], -1) @ S.T)   # (...,2)
        Dz = np.zeros(th.shape + (3,)); Dz[..., others[0]] = -dd[...,0]; Dz[..., others[1]] = -dd[...,1]
        return Dz
    th = np.linspace(0, 2*np.pi, ngrid, endpoint=False)
    F = loss(Zc, Dth(th), y)           # (N, ngrid)
    best = np.full(Zc.shape[0], -np.inf)
    order = np.argsort(-F, axis=1)[:, :2]
    hstep = 2*np.pi/ngrid
    gr = (math.sqrt(5)-1)/2
    def f1(t):   # t (N,) -> loss at angle t for each row
        return _row_loss(loss, Zc, Dth(t), y)
    for j in range(2):
        c0 = th[order[:, j]]
        a = c0 - hstep; b = c0 + hstep
        x1 = b - gr*(b-a); x2 = a + gr*(b-a)
        f_1 = f1(x1); f_2 = f1(x2)
        for _ in range(iters):
            left = f_1 > f_2
            b = np.where(left, x2, b); a = np.where(left, a, x1)
            x2n = np.where(left, x1, a + gr*(b-a)); x1n = np.where(left, b - gr*(b-a), x2)
            x1, x2 = x1n, x2n
            f_1 = f1(x1); f_2 = f1(x2)
        best = np.maximum(best, np.maximum(np.maximum(f_1, f_2), F[np.arange(len(c0)), order[:, j]]))
    return best

def _row_loss(loss, Zc, Dz, y):
    """loss for row-wise perturbations: Zc (N,3), Dz (N,3) -> (N,)"""
    return loss(Zc + Dz, np.zeros((1,3)), y)[:, 0] if loss.kind != 'trades' else \
           _trades_rowwise(loss, Zc, Dz, y)

def _trades_rowwise(loss, Zc, Dz, y):
    l0 = lse(Zc); p = np.exp(Zc - l0[:,None])
    Za = Zc + Dz
    kl = lse(Za) - l0 - ((Za - Zc)*p).sum(-1)
    return (l0 - Zc[:, y]) + loss.param*kl

def R_l2(loss, w1, w2, eps, mu, sig, cells_c=68, cells_u=34, m=6, T=8.5, y=0):
    """l2 robust objective: c-lines x u (both composite Gauss-Legendre, fixed), inner max on the ellipse."""
    W = Wmat(w1, w2); ex, cr = class_features(y)
    nrm = math.hypot(w1, w2/math.sqrt(2))
    e = np.zeros(6); e[ex] = w1/nrm; e[cr[0]] = e[cr[1]] = 0.5*w2/nrm
    xg, wg = gl(m)
    ec = np.linspace(-T, T, cells_c+1); tc = (0.5*(ec[1:]+ec[:-1])[:,None] + 0.5*np.diff(ec)[:,None]*xg).ravel()
    wc = (0.5*np.diff(ec)[:,None]*wg).ravel()*phi(tc)
    if w2 == 0:
        tu = np.array([0.0]); wu = np.array([1.0])
    else:
        eu = np.linspace(0, T, cells_u+1); tu = (0.5*(eu[1:]+eu[:-1])[:,None] + 0.5*np.diff(eu)[:,None]*xg).ravel()
        wu = (0.5*np.diff(eu)[:,None]*wg).ravel()*2*phi(tu)
    x0 = np.zeros(6); x0[ex] = mu; x0[cr[0]] = mu; x0[cr[1]] = mu
    TC, TU = np.meshgrid(tc, tu, indexing='ij')
    X = np.repeat(x0[None,:], TC.size, 0) + sig*TC.ravel()[:,None]*e[None,:]
    X[:, cr[0]] += sig*TU.ravel()/math.sqrt(2); X[:, cr[1]] -= sig*TU.ravel()/math.sqrt(2)
    Zc = X @ W.T
    vals = np.concatenate([l2_inner_max(loss, Zc[i:i+20000], W, eps, y) for i in range(0, len(Zc), 20000)])
    return float(vals @ (wc[:,None]*wu[None,:]).ravel())

# =====================================================================================
# Monte Carlo (fixed seed): full model, all three classes, brute force inner max.
# =====================================================================================
def sample_paper3(rng, n, mu, sig):
    y = rng.integers(0, 3, n)
    X = (mu + sig*rng.standard_normal((n, 6))) * M[y]
    return X, y

def mc_objective(obj, param, norm, mu, sig, eps, w1, w2, n, seed):
    rng = np.random.default_rng(seed)
    W = Wmat(w1, w2)
    X, Y = sample_paper3(rng, n, mu, sig)
    out = np.empty(n)
    for yy in range(3):
        sel = Y == yy; Zc = X[sel] @ W.T
        if obj in ('hinge', 'worst-margin', 'zero-one'):
            if norm == 'linf':
                Dv = eps*VERT @ W.T                     # all 64 vertices, brute force
                Za = Zc[:,None,:] + Dv[None]
                marg = np.full(Zc.shape[0], np.inf)
                for k in range(3):
                    if k != yy: marg = np.minimum(marg, (Za[...,yy]-Za[...,k]).min(1))
            else:
                marg = np.full(Zc.shape[0], np.inf)
                for k in range(3):
                    if k != yy: marg = np.minimum(marg, Zc[:,yy]-Zc[:,k] - eps*np.linalg.norm(W[yy]-W[k]))
            if obj == 'hinge': out[sel] = np.maximum(param - marg, 0.0)
            elif obj == 'worst-margin': out[sel] = -marg
            else: out[sel] = (marg <= 0).astype(float)
        else:
            loss = Loss(obj, param)
            if norm == 'linf':
                Dv = eps*VERT @ W.T
                out[sel] = loss(Zc, Dv, yy).max(-1)
            else:
                out[sel] = l2_inner_max(loss, Zc, W, eps, yy)
    return float(out.mean()), float(out.std(ddof=1)/math.sqrt(n))

# =====================================================================================
# Unified objective evaluation
# =====================================================================================
SMOOTH = ('ce', 'ls', 'trades')

def R_value(obj, param, w1, w2, eps, mu, sig, norm='linf', acc='fast'):
    if obj in SMOOTH:
        loss = Loss(obj, param)
        if norm == 'l2':
            return R_l2(loss, w1, w2, eps, mu, sig, 48, 24) if acc == 'fast' else R_l2(loss, w1, w2, eps, mu, sig, 96, 48)
        if acc == 'fast':
            return R2(loss, w1, w2, eps, mu, sig, urule=('adapt', 1e-10), prune=True,
                      dscale=0.3 if obj == 'trades' else 0.5)
        return R2(loss, w1, w2, eps, mu, sig, urule=('adapt', 1e-12), prune=True, dscale=0.25)
    if obj == 'worst-margin':
        return worst_margin_closed(w1, w2, eps, mu, sig, norm)
    return margin_objective(obj, w1, w2, eps, mu, sig, norm, kappa=param)

# =====================================================================================
# Optimisation over the symmetric family
# =====================================================================================
class Problem:
    """objective + scale specification; F(w1, w2) includes the weight-decay term."""
    def __init__(self, obj, param, eps, mu, sig, scale, norm='linf'):
        self.obj, self.param, self.eps, self.mu, self.sig, self.scale, self.norm = obj, param, eps, mu, sig, scale, norm
        self.nev = 0
    def F(self, w1, w2, acc='fast'):
        self.nev += 1
        v = R_value(self.obj, self.param, w1, w2, self.eps, self.mu, self.sig, self.norm, acc)
        if self.scale['kind'] == 'weight_decay':
            # (lambda/2)||W||_F^2 of the full 3x6 matrix: 3 entries w1, 6 entries w2 for paper3
            v += 0.5*self.scale['lambda']*float((Wmat(w1, w2)**2).sum())
        return v
    def radius(self):
        return self.scale.get('s', 1.0)
    def fixed(self):
        return self.scale['kind'] == 'fixed' or self.obj in ('worst-margin', 'hinge', 'zero-one')
    def Fth(self, th, acc='fast'):
        s = self.radius()
        return self.F(s*math.cos(th), s*math.sin(th), acc)

def one_sided_slope(f0, f, h):
    """numerical one-sided derivative at 0+ from f(h), f(2h) (Richardson), no analytic formula"""
    d1 = (f(h)-f0)/h; d2 = (f(2*h)-f0)/(2*h)
    return 2*d1 - d2

def opt_w1_on_axis(P, acc='fast'):
    """argmin_{w1>0} F(w1, 0): coarse log grid, then bounded Brent."""
    grid = np.geomspace(1e-2, 300, 36)
    vals = [P.F(x, 0.0, acc) for x in grid]
    i = int(np.argmin(vals))
    lo = grid[max(i-1, 0)]; hi = grid[min(i+1, len(grid)-1)]
    r = optimize.minimize_scalar(lambda x: P.F(x, 0.0, acc), bounds=(lo, hi), method='bounded',
                                 options={'xatol': 1e-10*max(1.0, grid[i]), 'maxiter': 200})
    return float(r.x), float(r.fun)

def axis_test(P, acc='fast'):
    """(w1 on the axis, slope of F into w2 > 0 at the axis optimum).  slope > 0 <=> w2* = 0 locally."""
    if P.fixed():
        f0 = P.Fth(0.0, acc)
        return P.radius(), one_sided_slope(f0, lambda h: P.Fth(h, acc), 1e-4)
    w1, f0 = opt_w1_on_axis(P, acc)
    h = 1e-4*w1
    return w1, one_sided_slope(f0, lambda t: P.F(w1, t, acc), h)

def grad_fd(f, w, fw, lb):
    g = np.zeros(2)
    for i in range(2):
        h = 1e-5*max(1.0, abs(w[i]))
        e = np.zeros(2); e[i] = h
        if w[i] - h < lb[i]:
            g[i] = (-3*fw + 4*f(w+e) - f(w+2*e))/(2*h)
        else:
            g[i] = (f(w+e) - f(w-e))/(2*h)
    return g

def hess_fd(f, w, h):
    H = np.zeros((2,2)); f0 = f(w)
    for i in range(2):
        for j in range(2):
            ei = np.zeros(2); ej = np.zeros(2); ei[i] = h[i]; ej[j] = h[j]
            H[i,j] = (f(w+ei+ej) - f(w+ei-ej) - f(w-ei+ej) + f(w-ei-ej))/(4*h[i]*h[j])
    return H

def newton_2d(f, w, maxit=25, tol_rel=1e-9):
    """damped Newton with finite-difference gradient/Hessian (central), w2 kept >= 0.
    Returns (w, last step norm, status, last Hessian)."""
    w = np.array(w, float); fw = f(w); last = float('inf'); H = None
    for it in range(maxit):
        h = np.array([1e-4*max(1.0, w[0]), 1e-4*max(1.0, w[0], w[1])])
        h[1] = min(h[1], 0.5*w[1]) if w[1] > 0 else h[1]
        if w[1] <= 0 or h[1] <= 1e-12:
            return w, last, 'boundary', H
        fp0 = f(w+[h[0],0]); fm0 = f(w-[h[0],0]); fp1 = f(w+[0,h[1]]); fm1 = f(w-[0,h[1]])
        g = np.array([(fp0-fm0)/(2*h[0]), (fp1-fm1)/(2*h[1])])
        H = np.zeros((2,2))
        H[0,0] = (fp0-2*fw+fm0)/h[0]**2; H[1,1] = (fp1-2*fw+fm1)/h[1]**2
        H[0,1] = H[1,0] = (f(w+h) - f(w+[h[0],-h[1]]) - f(w+[-h[0],h[1]]) + f(w-h))/(4*h[0]*h[1])
        ev = np.linalg.eigvalsh(H)
        if ev.min() > 0:
            step = -np.linalg.solve(H, g)
        else:
            step = -g/max(abs(ev).max(), 1e-8)
        # trust region: at most 50% of |w| per step
        nrm = np.linalg.norm(step); cap = 0.5*max(np.linalg.norm(w), 1e-3)
        if nrm > cap: step *= cap/nrm
        if w[1] + step[1] < 0:
            t = -0.999999*w[1]/step[1] if step[1] != 0 else 1.0
            step = step*min(1.0, t)
            if w[1] + step[1] <= 1e-12*max(1.0, w[0]):
                return w, last, 'boundary', H
        # backtracking
        lam = 1.0
        while lam > 1e-4:
            wn = w + lam*step
            fn = f(wn)
            if fn <= fw + 1e-14*abs(fw): break
            lam *= 0.5
        else:
            return w, last, 'stalled', H
        last = float(np.linalg.norm(lam*step)); w, fw = wn, fn
        if last < tol_rel*max(1.0, np.linalg.norm(w)):
            return w, last, 'converged', H
    return w, last, 'maxit', H

def optimise_free(P):
    """coarse polar grid; axis optimum + numerical one-sided slope into w2 > 0 (no analytic
    derivative); otherwise damped Newton (FD) with the fast evaluator, then Newton steps with the
    fine evaluator.  Tolerance = 10 x (fast->fine shift + last fine Newton step), floor 1e-7|w|."""
    grid = []
    for rho in (0.5, 1.5, 4.5, 13.5, 40.0):
        for th in np.linspace(0, np.pi/2, 6)[1:]:
            w = (rho*math.cos(th), rho*math.sin(th)); grid.append((P.F(*w), w))
    gbest = min(grid, key=lambda t: t[0])
    w1a, slope = axis_test(P)
    fa = P.F(w1a, 0.0)
    res = {'slope': slope}
    if slope >= 0 and fa <= gbest[0]:
        w1f, _ = opt_w1_on_axis(P, 'fine')
        res.update(w1=w1f, w2=0.0, boundary=True, tol=max(10*abs(w1f-w1a), 1e-7*max(1, w1f)),
                   value=P.F(w1f, 0.0, 'fine'))
        return res
    start = gbest[1] if gbest[0] < fa else (w1a, 0.05*w1a)
    wfast, last, status, H = newton_2d(lambda z: P.F(z[0], z[1]), start)
    if status == 'boundary' or H is None:
        raise RuntimeError('Newton hit w2 = 0 although the axis slope is negative: %r' % (res,))
    # polish with the fine evaluator: two Newton steps with the (fast) Hessian, fine gradient
    wf = wfast.copy(); lastf = 0.0; statusf = 'fine2'
    for it in range(2):
        h = np.array([1e-4*max(1.0, wf[0]), min(1e-4*max(1.0, wf[0], wf[1]), 0.5*wf[1])])
        g = np.array([(P.F(wf[0]+h[0], wf[1], 'fine') - P.F(wf[0]-h[0], wf[1], 'fine'))/(2*h[0]),
                      (P.F(wf[0], wf[1]+h[1], 'fine') - P.F(wf[0], wf[1]-h[1], 'fine'))/(2*h[1])])
        step = -np.linalg.solve(H, g)
        wf = wf + step; lastf = float(np.linalg.norm(step))
    shift = float(np.linalg.norm(wf - wfast))
    res.update(w1=float(wf[0]), w2=float(wf[1]), boundary=False,
               tol=max(10*(shift + (lastf if np.isfinite(lastf) else 0.0)), 1e-7*max(1.0, float(np.linalg.norm(wf)))),
               fast_fine_shift=shift, status=status+'/'+statusf, value=P.F(wf[0], wf[1], 'fine'))
    return res

def optimise_fixed(P):
    """fixed radius: theta grid on [0, pi/2] then bounded Brent; theta=0 decided by the one-sided slope."""
    ths = np.linspace(0, np.pi/2, 33)
    vals = np.array([P.Fth(t) for t in ths])
    i = int(np.argmin(vals))
    out = {}
    slope0 = one_sided_slope(vals[0], lambda h: P.Fth(h), 1e-4)
    def brent(acc, lo, hi):
        r = optimize.minimize_scalar(lambda t: P.Fth(t, acc), bounds=(lo, hi), method='bounded',
                                     options={'xatol': 1e-11, 'maxiter': 300})
        return float(r.x), float(r.fun)
    if i == 0 and slope0 >= 0:
        th = th_fine = 0.0
    else:
        lo = ths[max(i-1, 0)]; hi = ths[min(i+1, 32)]
        th, _ = brent('fast', lo, hi)
        th_fine, _ = brent('fine', max(0.0, th-(hi-lo)/8), min(np.pi/2, th+(hi-lo)/8))
    s = P.radius()
    # local second derivative for the accuracy statement
    out.update(theta=th_fine, w1=s*math.cos(th_fine), w2=s*math.sin(th_fine), boundary=(th_fine == 0.0),
               slope=slope0, fast_fine_shift=abs(th-th_fine)*s,
               tol=max(10*abs(th-th_fine)*s, 1e-7*s))
    out['value'] = P.Fth(th_fine, 'fine')
    out['grid_min_index'] = i
    return out

def optimise(P):
    return optimise_fixed(P) if P.fixed() else optimise_free(P)

# =====================================================================================
# Thresholds: eps0 = inf{eps : w2*(eps) = 0 for all larger eps < mu/2}, found by a scan of the
# numerical one-sided slope test and bisection (no analytic derivative), then verified with the
# full optimiser at a few eps values on both sides.
# =====================================================================================
def is_zero(P, acc='fast'):
    """w2*(eps) = 0 for the global optimum?  Local part: numerical one-sided slope >= 0 at the axis
    optimum.  Global part (the objective is not convex on the quarter circle / may not be for
    trades): the axis value must not exceed the best point of a 32-point angle grid (refined by
    Brent) resp. of the polar grid of optimise_free.  Returns (bool, slope, kind of failure)."""
    w1, slope = axis_test(P, acc)
    if slope < 0:
        return False, slope, 'local'
    if P.fixed():
        f0 = P.Fth(0.0, acc)
        ths = np.linspace(0, np.pi/2, 33)[1:]
        vals = np.array([P.Fth(t, acc) for t in ths])
        i = int(np.argmin(vals))
        r = optimize.minimize_scalar(lambda t: P.Fth(t, acc), bounds=(ths[max(i-1, 0)], ths[min(i+1, 31)]),
                                     method='bounded', options={'xatol': 1e-9})
        if min(r.fun, vals[i]) < f0 - 1e-12*(1+abs(f0)):
            return False, slope, 'global'
        return True, slope, ''
    if P.obj in ('ce', 'ls') :   # convex in (w1, w2): the local condition is global
        return True, slope, ''
    fa = P.F(w1, 0.0, acc)
    for rho in (0.5, 1.5, 4.5, 13.5, 40.0):
        for th in np.linspace(0, np.pi/2, 6)[1:]:
            if P.F(rho*math.cos(th), rho*math.sin(th), acc) < fa - 1e-12*(1+abs(fa)):
                return False, slope, 'global'
    return True, slope, ''

def threshold(obj, param, scale, sig, mu=1.0, scan_step=0.02, bis_tol=2e-7, verify=True):
    grid = np.unique(np.round(np.concatenate([np.arange(scan_step, mu/2 - 1e-9, scan_step),
                                             [0.49*mu, 0.495*mu, 0.499*mu]]), 10))
    slopes = []; zero = []
    for e in grid:
        P = Problem(obj, param, float(e), mu, sig, scale)
        w1, sl = axis_test(P)
        slopes.append(sl)
        zero.append(is_zero(P)[0] if sl >= 0 else False)
    slopes = np.array(slopes); zero = np.array(zero)
    out = {'scan_eps': [float(e) for e in grid], 'scan_slope': [float(v) for v in slopes],
           'scan_zero': [bool(z) for z in zero]}
    if not zero[-1]:
        out.update(eps0=None, bracket=None, tolerance=None)
        return out
    pos = np.nonzero(~zero)[0]
    if len(pos) == 0:
        P = Problem(obj, param, 1e-4, mu, sig, scale)
        if is_zero(P)[0]:
            out.update(eps0=0.0, bracket=[0.0, 1e-4], tolerance=1e-4, transition='none')
            lo = hi = eps0 = 0.0
        else:
            lo = 1e-4; hi = float(grid[0])
    else:
        lo = float(grid[pos[-1]]); hi = float(grid[pos[-1]+1])
    if out.get('eps0') is None:
        while hi - lo > bis_tol:
            md = 0.5*(lo+hi)
            if is_zero(Problem(obj, param, md, mu, sig, scale))[0]: hi = md
            else: lo = md
        eps0 = 0.5*(lo+hi)
        slo = axis_test(Problem(obj, param, lo, mu, sig, scale))[1]
        shi = axis_test(Problem(obj, param, hi, mu, sig, scale))[1]
        continuous = bool(slo < 0 <= shi)
        tol = max(hi - lo, 1e-7)*5
        rec = {'transition': 'continuous' if continuous else 'jump'}
        if continuous:
            # slope error (fast vs fine evaluator) translated into eps via the slope-vs-eps rate
            sl_f = axis_test(Problem(obj, param, lo, mu, sig, scale), 'fine')[1]
            sh_f = axis_test(Problem(obj, param, hi, mu, sig, scale), 'fine')[1]
            rate = (shi - slo)/(hi - lo)
            tol = max(tol, 5*max(abs(sl_f - slo), abs(sh_f - shi))/abs(rate))
            rec['fine_sign_ok'] = bool(sl_f < 0 <= sh_f)
        out.update(eps0=eps0, bracket=[lo, hi], tolerance=tol, **rec)
    if verify:
        checks = []
        pts = [0.05, 0.25, 0.45, 0.49] if eps0 == 0.0 else \
              [max(eps0 - 0.02, 0.005), min(eps0 + 0.01, 0.495), 0.5*(eps0 + mu/2), 0.49]
        for e in sorted(set(round(p, 6) for p in pts)):
            if e <= 0 or e >= mu/2: continue
            r = optimise(Problem(obj, param, e, mu, sig, scale))
            checks.append({'eps': e, 'w1': r['w1'], 'w2': r['w2'], 'expect_zero': e > eps0,
                           'ok': (r['w2'] == 0.0) == (e > eps0)})
        out['verify'] = checks
    return out

# =====================================================================================
# Self checks
# =====================================================================================
def sphere_check(obj, param, w1, w2, eps, mu, sig, npts=12, seed=7):
    """l2 inner max: ellipse parametrisation vs direct maximisation over ||delta||_2 = eps in R^6
    (SLSQP from 12 random starts and from the best of 4096 points of the great ellipse
    delta(theta) = eps G^T (G G^T)^(-1/2) (cos, sin)).  No sphere point may beat the ellipse value
    and the ellipse value must be attained on the sphere."""
    rng = np.random.default_rng(seed)
    loss = Loss(obj, param); W = Wmat(w1, w2)
    X, Y = sample_paper3(rng, npts, mu, sig)
    worst = 0.0
    for x, y in zip(X, Y):
        y = int(y); zc = W @ x
        ell = float(l2_inner_max(loss, zc[None, :], W, eps, y)[0])
        S, others = l2_ellipse(W, y)
        G = np.stack([W[y]-W[others[0]], W[y]-W[others[1]]])
        Mg = G.T @ np.linalg.inv(S)
        f = lambda d: float(_row_loss(loss, zc[None, :], (W @ d)[None, :], y)[0])
        th = np.linspace(0, 2*np.pi, 4096, endpoint=False)
        dl = eps*(np.stack([np.cos(th), np.sin(th)], 1) @ Mg.T)
        vals = _row_loss(loss, np.repeat(zc[None, :], len(th), 0), dl @ W.T, y)
        starts = [dl[int(np.argmax(vals))]]
        for k in range(12):
            d0 = rng.standard_normal(6); starts.append(d0*eps/np.linalg.norm(d0))
        best = -np.inf
        for d0 in starts:
            r = optimize.minimize(lambda d: -f(d), d0, method='SLSQP',
                                  constraints=[{'type': 'eq', 'fun': lambda d: d @ d - eps*eps}],
                                  options={'ftol': 1e-15, 'maxiter': 500})
            dd = r.x*eps/np.linalg.norm(r.x)
            best = max(best, f(dd), f(d0))
        worst = max(worst, abs(best - ell))
        assert best <= ell + 1e-9*(1+abs(ell)), (obj, best, ell)
        assert best >= ell - 1e-7*(1+abs(ell)), (obj, best, ell)
    return worst

# =====================================================================================
# Cases
# =====================================================================================
MU = 1.0

def objective_cases():
    C = []
    def add(obj, param, norm, sig, eps, w1, w2):
        C.append(dict(objective=obj, param=param, norm=norm, mu=MU, sigma=sig, eps=eps, w1=w1, w2=w2))
    L = 'linf'
    for a in [(0.5, 0.0, 1.0, 0.5), (0.5, 0.1, 2.0, 1.0), (0.5, 0.2, 1.0, 0.0), (0.5, 0.3, 0.5, 1.5),
              (1.0, 0.2, 3.0, 2.0), (1.0, 0.4, 10.0, 4.0), (0.5, 0.4, 10.0, 0.0), (1.0, 0.3, 1.0, 1.0)]:
        add('ce', None, L, *a)
    for a in [(0.5, 0.1, 1.0, 0.5), (1.0, 0.3, 2.0, 1.0), (0.5, 0.4, 10.0, 2.0), (0.5, 0.2, 1.0, 0.0)]:
        add('ls', 0.1, L, *a)
    for a in [(0.5, 0.2, 1.0, 0.5), (1.0, 0.1, 3.0, 2.0), (0.5, 0.3, 0.5, 1.5), (1.0, 0.4, 10.0, 4.0)]:
        add('ls', 0.3, L, *a)
    for a in [(0.5, 0.2, 1.0, 0.5), (0.5, 0.3, 3.0, 2.0), (1.0, 0.1, 2.0, 0.0), (1.0, 0.4, 4.0, 1.0)]:
        add('trades', 6.0, L, *a)
    for a in [(0.5, 0.1, 1.0, 0.5), (1.0, 0.3, 1.0, 3.0), (0.5, 0.0, 2.0, 1.0)]:
        add('trades', 1.0, L, *a)
    for a in [(0.5, 0.2, 1.0, 0.5), (1.0, 0.3, 0.6, 0.8), (0.5, 0.4, 10.0, 2.0), (0.5, 0.1, 1.0, 0.0)]:
        add('hinge', 1.0, L, *a)
    for a in [(0.5, 0.1, 0.8, 0.6), (1.0, 0.3, 0.6, 0.8), (0.5, 0.4, 1.0, 0.0)]:
        add('worst-margin', None, L, *a)
    for a in [(0.5, 0.2, 1.0, 0.5), (1.0, 0.3, 1.0, 1.0), (0.5, 0.4, 10.0, 3.0), (1.0, 0.1, 1.0, 0.0)]:
        add('zero-one', None, L, *a)
    add('ce', None, 'l2', 0.5, 0.2, 1.0, 0.5)
    add('ce', None, 'l2', 1.0, 0.3, 2.0, 1.0)
    add('ls', 0.1, 'l2', 0.5, 0.2, 1.0, 0.5)
    add('trades', 6.0, 'l2', 0.5, 0.1, 1.0, 0.5)
    add('hinge', 1.0, 'l2', 0.5, 0.2, 1.0, 0.5)
    add('worst-margin', None, 'l2', 1.0, 0.3, 0.6, 0.8)
    add('zero-one', None, 'l2', 0.5, 0.3, 1.0, 1.0)
    for i, c in enumerate(C):
        c['id'] = '%s%s-%s-s%g-e%g-w%g,%g' % (c['objective'], '' if c['param'] is None else '(%g)' % c['param'],
                                            c['norm'], c['sigma'], c['eps'], c['w1'], c['w2'])
        c['mc_seed'] = 1000 + i
    return C

FREE = {'kind': 'free'}
def FIX(s): return {'kind': 'fixed', 's': float(s)}
def WD(l): return {'kind': 'weight_decay', 'lambda': float(l)}

def optimum_cases():
    C = []
    def add(obj, param, scale, sig, eps_list):
        for e in eps_list:
            C.append(dict(objective=obj, param=param, norm='linf', mu=MU, sigma=sig, eps=e, scale=scale))
    add('ce', None, FREE, 0.5, [0.05, 0.1, 0.2, 0.3, 0.4, 0.45])
    add('ce', None, FIX(1), 0.5, [0.1, 0.3, 0.45])
    add('ce', None, FIX(5), 0.5, [0.1, 0.3, 0.45])
    add('ce', None, FIX(20), 0.5, [0.1, 0.3, 0.45])
    add('ce', None, WD(0.01), 0.5, [0.1, 0.3, 0.45])
    add('ls', 0.1, FREE, 0.5, [0.05, 0.1, 0.2, 0.3, 0.4, 0.45])
    add('trades', 6.0, FREE, 0.5, [0.1, 0.2, 0.3, 0.45])
    add('worst-margin', None, FIX(1), 0.5, [0.1, 0.3, 0.4])
    add('hinge', 1.0, FIX(1), 0.5, [0.1, 0.3, 0.4])
    add('hinge', 0.0, FIX(1), 0.5, [0.1, 0.3, 0.4])
    add('zero-one', None, FIX(1), 0.5, [0.05, 0.2, 0.3, 0.4])
    add('ce', None, FREE, 1.0, [0.1, 0.3])
    add('ce', None, FIX(5), 1.0, [0.2])
    add('ls', 0.1, FREE, 1.0, [0.1, 0.3])
    add('trades', 6.0, FREE, 1.0, [0.2])
    add('worst-margin', None, FIX(1), 1.0, [0.1, 0.3])
    add('hinge', 1.0, FIX(1), 1.0, [0.2])
    add('zero-one', None, FIX(1), 1.0, [0.1, 0.3])
    for c in C:
        c['id'] = opt_id(c)
    return C

def scale_str(s):
    return 'free' if s['kind'] == 'free' else ('s%g' % s['s'] if s['kind'] == 'fixed' else 'wd%g' % s['lambda'])

def opt_id(c):
    return '%s%s-%s-%s-s%g-e%g' % (c['objective'], '' if c['param'] is None else '(%g)' % c['param'],
                                   scale_str(c['scale']), c['norm'], c['sigma'], c['eps'])

def threshold_cases():
    C = []
    combos = [('ce', None, FREE, 'eps0'), ('ce', None, FIX(1), 'eps0'), ('ce', None, FIX(5), 'eps0'),
              ('ce', None, FIX(20), 'eps0'), ('ce', None, WD(0.01), 'eps0'),
              ('ls', 0.1, FREE, 'eps1'), ('ls', 0.3, FREE, 'eps1'), ('trades', 6.0, FREE, 'eps0'),
              ('worst-margin', None, FIX(1), 'eps0'), ('hinge', 1.0, FIX(1), 'eps0'),
              ('hinge', 0.0, FIX(1), 'eps0'), ('zero-one', None, FIX(1), 'eps0')]
    for sig in (0.5, 1.0):
        for obj, param, scale, name in combos:
            c = dict(objective=obj, param=param, norm='linf', mu=MU, sigma=sig, scale=scale, name=name)
            c['id'] = '%s%s-%s-linf-s%g' % (obj, '' if param is None else '(%g)' % param, scale_str(scale), sig)
            C.append(c)
    return C

# =====================================================================================
# Workers
# =====================================================================================
def run_objective(c):
    t0 = time.time()
    obj, p, norm, mu, sig, eps, w1, w2 = (c[k] for k in ('objective', 'param', 'norm', 'mu', 'sigma', 'eps', 'w1', 'w2'))
    info = {}
    if obj in SMOOTH and norm == 'linf':
        loss = Loss(obj, p)
        i3 = {}; i2 = {}
        ratio = max(w1/(w2/math.sqrt(2)), (w2/math.sqrt(2))/w1) if w2 > 0 else float('inf')
        v3 = R_adapt(loss, w1, w2, eps, mu, sig, nv=12 if ratio >= 2 else 20, tol=1e-11, prune=True,
                     dscale=0.5, info=i3)
        v2 = R2(loss, w1, w2, eps, mu, sig, urule=('adapt', 1e-12), prune=False, dscale=0.25, info=i2)
        value = v3
        err = 2*abs(v3 - v2) + i3.get('err_u', 0.0) + i2.get('err_u', 0.0) + 1e-15*(1+abs(value))
        info = {'method': '3d', 'value_2d_allvertices': v2, 'inner': i3.get('inner'), 'U_hull': i3.get('U'),
                'U_all': i2.get('U')}
    elif obj in SMOOTH:
        loss = Loss(obj, p)
        va = R_l2(loss, w1, w2, eps, mu, sig, 48, 24)
        vb = R_l2(loss, w1, w2, eps, mu, sig, 96, 48)
        value = vb; err = 3*abs(va - vb) + 1e-12*(1+abs(value))
        info = {'method': 'l2-ellipse', 'value_coarse': va,
                'sphere_check_maxdiff': sphere_check(obj, p, w1, w2, eps, mu, sig)}
    elif obj == 'worst-margin':
        value = worst_margin_closed(w1, w2, eps, mu, sig, norm)
        # numerical quadrature of E[-min m] over the density of min(b2,b3) as a check of the closed form
        c_ = eps*dual_norm_coeff(w1, w2, norm)
        vq, eq = integrate.quad(lambda t: -(w1*mu + w2*(mu+sig*t) - c_)*2*phi(t)*Phi(-t), -13, 13,
                                epsabs=1e-15, epsrel=1e-14, limit=500)
        assert abs(vq - value) < 1e-12*(1+abs(value)), (vq, value)
        err = abs(vq - value) + 1e-15*(1+abs(value))
        info = {'method': 'closed-form'}
    else:
        value, err = margin_objective(obj, w1, w2, eps, mu, sig, norm, kappa=p, want_err=True)
        err += 1e-15
        info = {'method': 'quad-min-density'}
    n = 200_000 if (norm == 'linf' or obj not in SMOOTH) else 100_000
    m, se = mc_objective(obj, p, norm, mu, sig, eps, w1, w2, n, c['mc_seed'])
    z = (m - value)/se if se > 0 else (0.0 if m == value else float('inf'))
    out = {k: c[k] for k in ('id', 'objective', 'param', 'norm', 'mu', 'sigma', 'eps', 'w1', 'w2')}
    out.update(value=value, abs_error_estimate=float('%.3g' % err), mc_mean=m, mc_se=se, mc_z=round(z, 3),
               mc_samples=n, mc_seed=c['mc_seed'])
    return out, info, time.time()-t0

def run_optimum(c):
    t0 = time.time()
    P = Problem(c['objective'], c['param'], c['eps'], c['mu'], c['sigma'], c['scale'], c['norm'])
    r = optimise(P)
    out = {k: c[k] for k in ('id', 'objective', 'param', 'norm', 'mu', 'sigma', 'eps', 'scale')}
    w1, w2 = float(r['w1']), float(r['w2'])
    out.update(w1=w1, w2=w2, ratio=w2/w1, value=float(r['value']), tolerance=float('%.3g' % r['tol']),
               w2_is_zero=bool(w2 == 0.0), axis_slope=float('%.6g' % r['slope']))
    return out, {'nev': P.nev}, time.time()-t0

def run_threshold(c):
    t0 = time.time()
    r = threshold(c['objective'], c['param'], c['scale'], c['sigma'], c['mu'])
    out = {k: c[k] for k in ('id', 'name', 'objective', 'param', 'norm', 'mu', 'sigma', 'scale')}
    out.update(eps0=r['eps0'], tolerance=None if r['tolerance'] is None else float('%.3g' % r['tolerance']),
               bracket=r['bracket'], transition=r.get('transition'))
    if c['objective'] == 'worst-margin':
        cf = (c['mu'] - c['sigma']/math.sqrt(math.pi))/2
        out['closed_form'] = cf
        out['closed_form_agrees'] = bool(r['eps0'] is not None and abs(r['eps0'] - cf) <= out['tolerance'])
    out['scan'] = {'eps': r['scan_eps'], 'axis_slope': [float('%.6g' % v) for v in r['scan_slope']],
                   'w2_zero': r['scan_zero']}
    if 'verify' in r:
        out['verified'] = all(v['ok'] for v in r['verify'])
        out['verify'] = [{'eps': v['eps'], 'w1': float('%.10g' % v['w1']), 'w2': float('%.10g' % v['w2'])}
                         for v in r['verify']]
    return out, {}, time.time()-t0

# =====================================================================================
# Findings helpers (printed with --findings; not part of the fixtures)
# =====================================================================================
def _find_task(task):
    kind = task[0]
    if kind == 'opt':
        _, obj, p, eps, sig, scale = task
        r = optimise(Problem(obj, p, eps, MU, sig, scale))
        return task, (r['w1'], r['w2'], r['w2']/r['w1'], r['value'], r['tol'])
    if kind == 'thr':
        _, obj, p, scale, sig = task
        r = threshold(obj, p, scale, sig, verify=True)
        return task, {k: r.get(k) for k in ('eps0', 'bracket', 'tolerance', 'transition', 'verify')}
    raise ValueError(kind)

def findings(jobs):
    F = {}
    # (c) / Theorem 2: joint RA vs pairwise RA along w2 in [0, w1] (w1 = 1)
    rows = []
    for sig in (0.5, 1.0):
        for eps in (0.0, 0.1, 0.2, 0.3, 0.35, 0.4, 0.45):
            r = np.linspace(0, 1, 401)
            ra = np.array([1 - margin_objective('zero-one', 1.0, x, eps, MU, sig) for x in r])
            pair = Phi(((1 + r)*(MU - 2*eps))/(sig*np.sqrt(1 + r*r)))
            i = int(np.argmax(ra))
            rows.append(dict(sigma=sig, eps=eps, argmax_ratio=float(r[i]), RA_at_0=float(ra[0]),
                             RA_max=float(ra[i]), RA_at_1=float(ra[-1]),
                             joint_monotone=bool(np.all(np.diff(ra) >= -1e-15)),
                             pairwise_monotone=bool(np.all(np.diff(pair) >= -1e-15)),
                             pairwise_at_0=float(pair[0]), pairwise_at_1=float(pair[-1])))
    F['ra_monotonicity'] = rows
    tasks = []
    for eps in (0.1, 0.3, 0.4, 0.45):
        for s in (1, 5, 20, 50):
            tasks.append(('opt', 'ce', None, eps, 0.5, FIX(s)))
        tasks.append(('opt', 'hinge', 0.0, eps, 0.5, FIX(1)))
    for sig in (0.5, 1.0):
        for eps in (0.05, 0.1, 0.2, 0.3, 0.4, 0.45):
            for obj, p in (('ce', None), ('ls', 0.1), ('ls', 0.3)):
                tasks.append(('opt', obj, p, eps, sig, FREE))
    for s in (1, 5):
        for eps in (0.1, 0.3, 0.45):
            for obj, p in (('ls', 0.1), ('ls', 0.3)):
                tasks.append(('opt', obj, p, eps, 0.5, FIX(s)))
    res = ordered_map(_find_task, tasks, jobs)
    F['optima'] = [{'task': [str(x) for x in t], 'w1_w2_ratio_value_tol': list(map(float, v))} for t, v in res]
    tasks = [('thr', obj, p, FIX(s), 0.5) for (obj, p) in (('ls', 0.1), ('ls', 0.3), ('trades', 6.0))
             for s in (1, 5)]
    res = ordered_map(_find_task, tasks, jobs)
    F['extra_thresholds'] = [{'task': [str(x) for x in t], 'result': v} for t, v in res]
    return F

# =====================================================================================
# Main
# =====================================================================================
def ordered_map(fn, items, jobs):
    if jobs <= 1:
        return [fn(c) for c in items]
    import multiprocessing as mp_
    ctx = mp_.get_context('fork')
    with ctx.Pool(jobs) as pool:
        return pool.map(fn, items, chunksize=1)

def dump(path, obj):
    with open(path, 'w') as f:
        json.dump(obj, f, indent=1)
        f.write('\n')

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--jobs', type=int, default=2)
    ap.add_argument('--only', default='objective,optimum,threshold')
    ap.add_argument('--findings', action='store_true')
    args = ap.parse_args()
    import scipy
    here = os.path.dirname(os.path.abspath(__file__)); fixtures = os.path.dirname(here)
    meta = {'generator': 'Tests/Fixtures/scripts/objective_reference.py', 'numpy': np.__version__,
            'scipy': scipy.__version__}
    todo = args.only.split(',')
    T0 = time.time()
    if 'objective' in todo:
        t0 = time.time()
        cases = objective_cases()
        res = ordered_map(run_objective, cases, args.jobs)
        for (o, info, dt) in res:
            print('%-48s %.15g  err %.1e  mc z %+.2f  %s  %.1fs  %s' % (o['id'], o['value'], o['abs_error_estimate'],
                  o['mc_z'], info.get('method'), dt, {k: v for k, v in info.items() if k != 'method'}), flush=True)
            assert abs(o['mc_z']) < 5, o
            if 'value_2d_allvertices' in info:
                assert abs(info['value_2d_allvertices'] - o['value']) < 1e-7*(1+abs(o['value'])), (o, info)
        # class symmetry: classes 2 and 3 give the same value (3-D evaluator, brute force)
        sym = []
        for (obj, p, sig, eps, w1, w2) in (('ls', 0.3, 0.5, 0.2, 1.0, 0.5), ('trades', 6.0, 0.5, 0.2, 1.0, 0.5),
                                           ('ce', None, 1.0, 0.3, 1.0, 1.0)):
            vals = [R_adapt(Loss(obj, p), w1, w2, eps, MU, sig, y=y, nv=12, tol=1e-11, prune=False, dscale=0.5)
                    for y in range(3)]
            assert max(vals) - min(vals) < 1e-11, vals
            sym.append({'objective': obj, 'param': p, 'sigma': sig, 'eps': eps, 'w1': w1, 'w2': w2,
                        'class_values': vals})
        method = ("ce/ls/trades (linf): 3-D quadrature over (a, u, v) with exact piecewise integration in a "
                  "(brute-force vertex max, switches located by bisection), adaptive G7K15 in u, 12-node "
                  "Gauss-Hermite in v; cross-checked by a 2-D evaluator along the logit-relevant direction "
                  "using all deduplicated vertices; ce/ls/trades (l2): ellipse boundary maximisation "
                  "(checked against SLSQP on the sphere), composite Gauss-Legendre at two resolutions; "
                  "hinge/zero-one: conditioning on min(b2, b3), scipy quad + composite Gauss-Legendre; "
                  "worst-margin: closed form -(w1 mu + w2 (mu - sigma/sqrt(pi)) - eps ||w_1 - w_2||_q) checked by "
                  "quad. Every value checked by Monte Carlo (|z| < 5, fixed seeds, all classes).")
        dump(os.path.join(fixtures, 'objective_reference.json'),
             dict(meta, method=method, class_symmetry_check=sym, cases=[r[0] for r in res]))
        print('objective: %d cases, %.0fs' % (len(res), time.time()-t0), flush=True)
    if 'optimum' in todo:
        t0 = time.time()
        cases = optimum_cases()
        res = ordered_map(run_optimum, cases, args.jobs)
        for (o, info, dt) in res:
            print('%-40s w1 %.10g w2 %.10g ratio %.6g tol %.1e  %.1fs' % (o['id'], o['w1'], o['w2'], o['ratio'],
                  o['tolerance'], dt), flush=True)
        method = ("argmin over w1, w2 >= 0 (fixed: over the quarter circle of radius s; worst-margin, hinge and "
                  "zero-one at s = 1, zero-one reported as the unit direction). Polar grid, axis optimum + "
                  "numerical one-sided slope test for w2 = 0, damped FD Newton (free/weight decay) or bounded "
                  "Brent in the angle (fixed). w2_is_zero = true means the boundary w2 = 0 is optimal (exactly). "
                  "tolerance bounds the error of w1 and w2 (absolute).")
        dump(os.path.join(fixtures, 'optimum_reference.json'), dict(meta, method=method, cases=[r[0] for r in res]))
        print('optimum: %d cases, %.0fs' % (len(res), time.time()-t0), flush=True)
    if 'threshold' in todo:
        t0 = time.time()
        cases = threshold_cases()
        res = ordered_map(run_threshold, cases, args.jobs)
        for (o, info, dt) in res:
            print('%-34s %s = %s  tol %s bracket %s verified %s  %.1fs' % (o['id'], o['name'], o['eps0'], o['tolerance'],
                  o['bracket'], o.get('verified'), dt), flush=True)
            if o['objective'] == 'worst-margin':
                assert o['closed_form_agrees'], o
            if 'verified' in o:
                assert o['verified'], o
        method = ("eps0 = inf{eps : w2*(eps) = 0 for all larger eps < mu/2}; null if w2* > 0 up to mu/2. "
                  "Per eps: w1 optimal on the axis w2 = 0 (or w1 = s), then the one-sided slope of the objective "
                  "into w2 > 0 (angle for fixed radius) by Richardson from two finite differences (h = 1e-4 w1 / 1e-4 rad); "
                  "slope >= 0 is necessary for w2* = 0; for objectives that are not convex in (w1, w2) (fixed radius, "
                  "trades) the axis optimum must also beat an angle grid + Brent (polar grid). Scan on eps = 0.02..0.48 "
                  "step 0.02 plus 0.49, 0.495, 0.499, bisection of the last change, slope sign re-checked with the fine "
                  "evaluator (continuous transitions), and the full optimiser run below/above (verify; must agree). "
                  "scan.axis_slope lists the slope (negative: w2* > 0), scan.w2_zero the decision. transition: "
                  "'continuous' (w2* -> 0 continuously) or 'jump' (the global optimum jumps to the axis).")
        dump(os.path.join(fixtures, 'threshold_reference.json'), dict(meta, method=method, cases=[r[0] for r in res]))
        print('threshold: %d cases, %.0fs' % (len(res), time.time()-t0), flush=True)
    if args.findings:
        print(json.dumps(findings(args.jobs), indent=1, default=float))
    print('total %.0fs' % (time.time()-T0))

if __name__ == '__main__':
    main()
