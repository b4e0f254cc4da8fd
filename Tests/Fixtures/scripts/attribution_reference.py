#!/usr/bin/env python3
"""Independent reference for the exact attribution metric (Tests/Fixtures/attribution_reference.json).

Nothing here shares code or method with the Swift implementation: the adversary is brute force
(every one of the 2^d box vertices is tried for every sampled x, in input space, with the loss
evaluated from the logits), the class means E[x + delta*(x) | y] are Monte Carlo averages with
standard errors, and A_i, C, CAS are recomputed from them in numpy. Coordinates whose column of
D = (w_y - w_k)_k is zero do not change the loss; their perturbation is set to 0 (the
convention of the Swift code and of PGD's sign step, documented in ATTRIBUTION.md).

Run:  python3 Tests/Fixtures/scripts/attribution_reference.py   (numpy only; ~1 minute)
"""
import itertools
import json
import os

import numpy as np

N_PER_CLASS = 400_000
BATCHES = 40
CHUNK_ELEMENTS = 4_000_000


def complement(k):
    return [[j == y for j in range(k)] + [j != y for j in range(k)] for y in range(k)]


def symmetric(membership, w1, w2):
    m = np.array(membership, dtype=bool)
    carriers = m.sum(axis=0)
    w = np.zeros(m.shape)
    for f in range(m.shape[1]):
        w[m[:, f], f] = w1 if carriers[f] == 1 else w2
    return w


def loss(logits, y, objective):
    """Per-row loss of logits (n x v x K) for true class y."""
    top = logits.max(axis=-1, keepdims=True)
    logp = logits - top - np.log(np.exp(logits - top).sum(axis=-1, keepdims=True))
    k = logits.shape[-1]
    if objective == "ce":
        return -logp[..., y]
    if objective.startswith("ls:"):
        a = float(objective[3:])
        q = np.full(k, a / (k - 1))
        q[y] = 1 - a
        return -(logp * q).sum(axis=-1)
    raise ValueError(objective)


def adversarial_means(membership, mu, sigma, w, eps, objective, seed):
    rng = np.random.default_rng(seed)
    m = np.array(membership, dtype=bool)
    k, d = m.shape
    signs = np.array(list(itertools.product([-1.0, 1.0], repeat=d)))  # 2^d x d
    means, ses, batch_means = [], [], []
    for y in range(k):
        zero = np.all(np.abs(w[y] - w) <= 1e-15 * np.abs(w).max(), axis=0)  # columns of D that vanish
        rows = []
        done = 0
        while done < N_PER_CLASS:
            n = min(max(1000, CHUNK_ELEMENTS // (len(signs) * d)), N_PER_CLASS - done)
            x = np.where(m[y], mu + sigma * rng.standard_normal((n, d)), 0.0)
            cand = x[:, None, :] + eps * signs[None, :, :]  # n x 2^d x d
            logits = cand @ w.T
            best = np.argmax(loss(logits, y, objective), axis=1)
            delta = eps * signs[best]
            delta[:, zero] = 0.0
            rows.append(x + delta)
            done += n
        xs = np.concatenate(rows)
        means.append(xs.mean(axis=0))
        ses.append(xs.std(axis=0, ddof=1) / np.sqrt(len(xs)))
        batch_means.append(xs.reshape(BATCHES, -1, d).mean(axis=1))
    return np.array(means), np.array(ses), np.array(batch_means)  # batch_means: K x B x d


def attribution(class_means, w, gauge):
    if gauge == "centred":
        w = w - w.mean(axis=0, keepdims=True)
    a = class_means * w
    norms = np.linalg.norm(a, axis=1, keepdims=True)
    a = np.where(norms > 0, a / np.where(norms > 0, norms, 1), 0)
    c = a @ a.T
    k = len(c)
    off = c[~np.eye(k, dtype=bool)]
    return c, float(np.maximum(off, 0).sum()), float(off.mean())


def summary(class_means, batch_means, w, gauge):
    c, cas, mean = attribution(class_means, w, gauge)
    out = {"correlation": c.tolist(), "cas": cas, "mean_cross_similarity": mean}
    if batch_means is not None:
        per = [attribution(batch_means[:, b, :], w, gauge) for b in range(batch_means.shape[1])]
        b = len(per)
        out["correlation_se"] = (np.std([p[0] for p in per], axis=0, ddof=1) / np.sqrt(b)).tolist()
        out["cas_se"] = float(np.std([p[1] for p in per], ddof=1) / np.sqrt(b))
        out["mean_cross_similarity_se"] = float(np.std([p[2] for p in per], ddof=1) / np.sqrt(b))
    return out


def case(name, membership, mu, sigma, w, eps, objective, seed):
    m = np.array(membership, dtype=bool)
    natural = np.where(m, mu, 0.0)
    adv, se, batches = adversarial_means(membership, mu, sigma, w, eps, objective, seed)
    return {
        "name": name, "membership": membership, "mu": mu, "sigma": sigma, "eps": eps, "objective": objective,
        "weights": w.tolist(), "samples_per_class": N_PER_CLASS,
        "adversarial_means": adv.tolist(), "adversarial_means_se": se.tolist(),
        "attribution": {
            "adversarial": {g: summary(adv, batches, w, g) for g in ("raw", "centred")},
            "natural": {g: summary(natural, None, w, g) for g in ("raw", "centred")},
        },
    }


def main():
    rng = np.random.default_rng(20261130)
    p3 = complement(3)
    cases = [
        case("paper3 symmetric W(1, 0.8) eps 0.1 ce", p3, 1.0, 0.5, symmetric(p3, 1.0, 0.8), 0.1, "ce", 1),
        case("complement(4) symmetric W(1, 0.6) eps 0.15 ce", complement(4), 1.0, 0.5, symmetric(complement(4), 1.0, 0.6), 0.15, "ce", 2),
    ]
    for i in range(2):
        w = rng.standard_normal((3, 6))
        cases.append(case(f"paper3 random W #{i + 1} eps 0.2 ce", p3, 1.0, 0.5, w, 0.2, "ce", 10 + i))
    w = symmetric(p3, 1.0, 0.5) * 3.0
    cases.append(case("paper3 symmetric W(3, 1.5) eps 0.3 ls:0.3", p3, 1.0, 0.5, w, 0.3, "ls:0.3", 20))
    out = {
        "generator": "Tests/Fixtures/scripts/attribution_reference.py",
        "method": "brute-force adversary over all box vertices, Monte Carlo class means; SEs from the sample "
                  "(means) and from 40 batch means (C, CAS)",
        "cases": cases,
    }
    path = os.path.join(os.path.dirname(__file__), "..", "attribution_reference.json")
    with open(path, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
