#!/usr/bin/env python3
"""Independent values of the population trades objective of W(w1, w2) on paper3 (mu = 1) under
l_inf, for FastTradesTests (the fast fixed-rule path against scipy).

Each value is bench/reference/trades_independent.py's: the inner maximum over the six hexagon
vertices, every kink along each inner line certified (critical points of each vertex difference
from a degree-6 polynomial in e^u, Descartes isolation), scipy.integrate.quad between the kinks
(epsabs 1e-14) inside scipy.integrate.quad over z1 (epsabs 1e-12); the outer quad's own error
estimate is recorded. The cases cover beta 1 and 6, tau 0 and 0.2, eps 0.05..0.49, w2 = 0, and
margin scales up to ~25 (sc = sigma-weighted scale of the shared coordinate).
Writes Tests/Fixtures/trades_reference.json (minutes per case; run in parallel over cases).

    python3 Tests/Fixtures/scripts/trades_reference.py [processes]
"""
import json
import os
import sys
from multiprocessing import Pool

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "bench", "reference"))
from trades_independent import trades_value  # noqa: E402

# (beta, sigma, tau, eps, w1, w2)
CASES = [
    (6.0, 1.0, 0.2, 0.49, 7.4278135270820735, 2.9711254108328298),
    (6.0, 0.5, 0.0, 0.3, 7.4278135270820735, 2.9711254108328298),
    (1.0, 0.5, 0.0, 0.3, 2.3, 1.4),
    (1.0, 1.0, 0.2, 0.2, 14.0, 7.75),
    (6.0, 0.25, 0.0, 0.05, 1.0, 0.3),
    (1.0, 1.0, 0.2, 0.45, 0.5, 0.0),
    (1.0, 0.5, 0.0, 0.4, 25.0, 10.0),
    (6.0, 1.0, 0.0, 0.35, 3.0, 6.0),
]


def run(case):
    value, error = trades_value(*case)
    beta, sigma, tau, eps, w1, w2 = case
    print(case, value, error, flush=True)
    return {"beta": beta, "sigma": sigma, "tau": tau, "eps": eps, "w1": w1, "w2": w2,
            "value": value, "quad_error": error}


def main():
    processes = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    with Pool(processes) as pool:
        cases = pool.map(run, CASES, chunksize=1)
    out = {"generator": "Tests/Fixtures/scripts/trades_reference.py (scipy %s, mu = 1)" % __import__("scipy").__version__,
           "cases": cases}
    path = os.path.join(HERE, "..", "trades_reference.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
