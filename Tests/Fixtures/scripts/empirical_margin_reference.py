#!/usr/bin/env python3
"""Independent reference optima of the exact empirical margin losses at a fixed scale.

Writes Tests/Fixtures/empirical_margin_reference.json (run from the repository root:
`python3 Tests/Fixtures/scripts/empirical_margin_reference.py`).

Problem: a tiny labelled sample (K = 3 classes, d = 2 or 3, 2 points per class, drawn here with
numpy: class means on the vertices of the unit cube plus N(0, 0.6^2) noise) and

    minimise  R_n(W) = (1/n) sum_i f_i(W)  over centred W (rows summing to zero), ||W||_F <= s,
    worst-margin: f_i = max_c (-m_ic),  hinge: f_i = max(0, max_c (kappa - m_ic)),
    m_ic = min_{||delta|| <= eps} (w_{y_i} - w_c) . (x_i + delta).

Method (deliberately different from ccsim's Swift interior point on the cone formulation with
one variable per class pair and coordinate): for l_inf the inner minimum is taken over all 2^d
box vertices, so the epigraph form

    minimise (1/n) sum_i t_i  s.t.  t_i >= kappa - (w_y - w_c) . (x_i + eps sigma)  for every
                                    c != y_i and every vertex sigma,  (t_i >= 0 for hinge),
                                    s^2 - ||W||_F^2 >= 0,

is linear but for the ball; for l2 the margin is written with its closed form through an
explicit unit vector: t_i >= kappa - D . x_i + eps u_p, u_p^2 >= ||D_p||^2, u_p >= 0, per
unordered pair. W = (w0, w1, -w0 - w1). Solved by scipy SLSQP (analytic Jacobians) from several
starts; the best run is kept. The objective at the reference W is recomputed from the closed
form; the Swift test evaluates it itself at the reference W (projected into the ball).
"""
import itertools
import json

import numpy as np
from scipy.optimize import minimize

K = 3


def draw(d, seed):
    rng = np.random.default_rng(seed)
    means = [np.array([1.0 if (j + y) % 3 == 0 else 0.0 for j in range(d)]) for y in range(K)]
    means[2] = means[2] + 0.5
    xs, ys = [], []
    for y in range(K):
        for _ in range(2):
            xs.append(means[y] + rng.normal(0, 0.6, d))
            ys.append(y)
    return np.array(xs), ys


def full(wr, d):
    w = wr.reshape(K - 1, d)
    return np.vstack([w, -w.sum(axis=0)])


def objective_value(W, xs, ys, eps, norm, kappa, hinge):
    total = 0.0
    for x, y in zip(xs, ys):
        worst = -np.inf
        for c in range(K):
            if c == y:
                continue
            D = W[y] - W[c]
            dual = np.abs(D).sum() if norm == "linf" else np.linalg.norm(D)
            worst = max(worst, kappa - (D @ x - eps * dual))
        total += max(worst, 0.0) if hinge else worst
    return total / len(ys)


def solve(xs, ys, eps, norm, kappa, hinge, s, starts=12, seed=0):
    n, d = xs.shape
    nw = (K - 1) * d
    pairs = [(0, 1), (0, 2), (1, 2)]
    nu = len(pairs) if norm == "l2" else 0
    size = nw + n + nu

    # dW[r] / dwr: W = B wr, with row 2 = -(row0 + row1).
    def row_jac(r):
        J = np.zeros((d, nw))
        if r < K - 1:
            J[:, r * d:(r + 1) * d] = np.eye(d)
        else:
            for q in range(K - 1):
                J[:, q * d:(q + 1) * d] = -np.eye(d)
        return J

    rows = [row_jac(r) for r in range(K)]
    A, b = [], []   # A z >= b  (linear constraints)
    for i, (x, y) in enumerate(zip(xs, ys)):
        for c in range(K):
            if c == y:
                continue
            JD = rows[y] - rows[c]
            if norm == "linf":
                for sigma in itertools.product([-1.0, 1.0], repeat=d):
                    point = x + eps * np.array(sigma)
                    row = np.zeros(size)
                    row[nw + i] = 1.0
                    row[:nw] = point @ JD          # t_i + D . point >= kappa
                    A.append(row)
                    b.append(kappa)
            else:
                p = pairs.index((min(y, c), max(y, c)))
                row = np.zeros(size)
                row[nw + i] = 1.0
                row[:nw] = x @ JD
                row[nw + n + p] = -eps             # t_i + D . x - eps u_p >= kappa
                A.append(row)
                b.append(kappa)
        if hinge:
            row = np.zeros(size)
            row[nw + i] = 1.0
            A.append(row)
            b.append(0.0)
    A, b = np.array(A), np.array(b)

    def ball_jac(z):
        # d||W||^2 / dw_q = 2 w_q - 2 w_2 (w_2 = -(w_0 + w_1)).
        W = full(z[:nw], d)
        J = np.zeros((1, size))
        for q in range(K - 1):
            J[0, q * d:(q + 1) * d] = -(2 * W[q] - 2 * W[K - 1])
        return J

    constraints = [
        {"type": "ineq", "fun": lambda z: A @ z - b, "jac": lambda z: A},
        {"type": "ineq", "fun": lambda z: np.array([s * s - np.sum(full(z[:nw], d) ** 2)]), "jac": ball_jac},
    ]
    if norm == "l2":
        Jp = [rows[a] - rows[c] for a, c in pairs]

        def cones(z):
            W = full(z[:nw], d)
            return np.array([z[nw + n + p] ** 2 - np.sum((W[a] - W[c]) ** 2) for p, (a, c) in enumerate(pairs)]
                            + [z[nw + n + p] for p in range(nu)])

        def cones_jac(z):
            W = full(z[:nw], d)
            J = np.zeros((2 * nu, size))
            for p, (a, c) in enumerate(pairs):
                J[p, :nw] = -2 * (W[a] - W[c]) @ Jp[p]
                J[p, nw + n + p] = 2 * z[nw + n + p]
                J[nu + p, nw + n + p] = 1.0
            return J

        constraints.append({"type": "ineq", "fun": cones, "jac": cones_jac})
    cost = np.zeros(size)
    cost[nw:nw + n] = 1.0 / n
    rng = np.random.default_rng(seed)
    best = None
    for start in range(starts):
        wr = rng.normal(size=nw)
        W = full(wr, d)
        wr = wr * (0.9 * s * (start + 1) / starts) / np.linalg.norm(W)
        W = full(wr, d)
        z0 = np.zeros(size)
        z0[:nw] = wr
        if norm == "l2":
            for p, (a, c) in enumerate(pairs):
                z0[nw + n + p] = np.linalg.norm(W[a] - W[c]) + 0.1
        for i, (x, y) in enumerate(zip(xs, ys)):
            lo = -np.inf
            for c in range(K):
                if c == y:
                    continue
                D = W[y] - W[c]
                dual = np.abs(D).sum() if norm == "linf" else z0[nw + n + pairs.index((min(y, c), max(y, c)))]
                lo = max(lo, kappa - D @ x + eps * dual)
            z0[nw + i] = max(lo, 0.0) + 0.1 if hinge else lo + 0.1
        res = minimize(lambda z: cost @ z, z0, jac=lambda z: cost, constraints=constraints, method="SLSQP",
                       options={"ftol": 1e-15, "maxiter": 2000})
        W = full(res.x[:nw], d)
        nrm = np.linalg.norm(W)
        if nrm > s:
            W = W * s / nrm
        value = objective_value(W, xs, ys, eps, norm, kappa, hinge)
        if best is None or value < best[0]:
            best = (value, W, res.success)
    return best


def main():
    cases = []
    for d, seed, eps, s in [(2, 1, 0.3, 0.7), (2, 2, 0.3, 3.0), (3, 3, 0.2, 0.7), (3, 4, 0.4, 3.0)]:
        xs, ys = draw(d, seed)
        for norm in ["linf", "l2"]:
            for loss, kappa, hinge in [("worst-margin", 0.0, False), ("hinge:1", 1.0, True)]:
                value, W, success = solve(xs, ys, eps, norm, kappa, hinge, s, seed=seed)
                cases.append({
                    "dimension": d, "seed": seed, "eps": eps, "scale": s, "norm": norm, "loss": loss,
                    "labels": ys, "inputs": xs.tolist(), "value": value, "weights": W.tolist(),
                    "solver_success": bool(success),
                })
                print(d, seed, norm, loss, s, value, success)
    with open("Tests/Fixtures/empirical_margin_reference.json", "w") as f:
        json.dump({"generator": "Tests/Fixtures/scripts/empirical_margin_reference.py (numpy + scipy SLSQP)",
                   "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
