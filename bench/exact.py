"""bench/run --exact: the exact engine's targets (issue 12), measured in one run.

Times every target of issue 12 on this machine and writes bench/RESULTS-exact.md:
- in-process optimum medians (`ccsim-bench optimum`, fast path) for ce, ls:0.1 and trades:1 on
  paper3 (eps 0.3, free scale), next to ccsim's own reference path and, for ce, the scipy
  reference of the same optimum (bench/reference/sweep_ref.py at the same eps), run back to
  back, so the ratios hold whatever the machine's load; and, for ls:0.1 and trades:1, the scipy
  reference of the same optimum (bench/reference/pair_ref.py);
- exact RA evaluations per second, ccsim's fixed rules against the scipy reference;
- wall clock of the CLI commands a researcher waits for (process start included): `verify`,
  the canonical phase grid, the complement(10) threshold, the l_2 and full-W optima;
- cost against K (3..20) with its growth law (a least-squares slope of log cost on log K),
  and against the tolerance and the grid size.

Run through bench/run (which creates the virtual environment and builds ccsim-bench); the
driver builds ccsim itself. Every number is a median over the repetitions (min-max beside it).
"""
import datetime
import json
import math
import os
import resource
import shlex
import statistics
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH = os.path.join(ROOT, ".build", "release", "ccsim-bench")
CCSIM = os.path.join(ROOT, ".build", "release", "ccsim")
REF = os.path.join(HERE, "reference")


def last_json(stdout):
    """The last JSON object a command printed (one per line)."""
    lines = [l for l in stdout.splitlines() if l.strip().startswith("{")]
    return json.loads(lines[-1])


def json_of(argv, env):
    out = subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return last_json(out.stdout)


def timed(argv, env):
    """Wall and CPU (user + sys of the child) seconds of one command; its stdout."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, out.stdout


def fmt(seconds):
    if seconds < 1e-3:
        return f"{1e6 * seconds:.0f} us"
    if seconds < 1:
        return f"{1000 * seconds:.1f} ms"
    return f"{seconds:.2f} s"


def spread(values):
    return f"{fmt(min(values))}-{fmt(max(values))}"


def verdict(value, target, larger_is_better=False):
    if larger_is_better:
        return "met" if value >= target else f"**missed** ({target / value:.1f}x short)"
    return "met" if value <= target else f"**missed** ({value / target:.1f}x over)"


def slope(xs, ys):
    """Least-squares slope of log y on log x (the growth exponent)."""
    lx = [math.log(x) for x in xs]
    ly = [math.log(y) for y in ys]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


def run(R, quick, python, log):
    env = dict(os.environ)
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = "1"
    env["PYTHONPATH"] = REF
    subprocess.run(["swift", "build", "-c", "release", "--product", "ccsim"], cwd=ROOT, check=True)
    started = time.time()
    thr = ["--threads", "1"]
    rows = []  # (task, command, median, min-max, target, verdict)
    ratios = []  # (what, ccsim, reference, ratio, target)
    commands = []

    # 1. Optima in-process: fast (one thread, and every core as `ccsim optimum` runs it: each
    # evaluation's pieces spread over the cores, same bits), ccsim reference, scipy reference
    # (ce), back to back.
    cores = os.cpu_count() or 1
    optimum_targets = {"ce": 0.020, "ls:0.1": 0.050, "trades:1": 0.050}
    for objective, target in optimum_targets.items():
        fast_argv = [BENCH, "optimum", "--objective", objective, "--eps", "0.3", "--repeats", str(max(R, 3))] + thr
        cores_argv = [BENCH, "optimum", "--objective", objective, "--eps", "0.3", "--repeats", str(max(R, 3)), "--threads", str(cores)]
        reference_argv = [BENCH, "optimum", "--objective", objective, "--eps", "0.3", "--repeats", "1", "--method", "reference"] + thr
        commands += [shlex.join(fast_argv), shlex.join(cores_argv), shlex.join(reference_argv)]
        fast, on_cores, cpu, reference = [], [], [], []
        for _ in range(R):
            f = json_of(fast_argv, env)
            fast.append(f["seconds_median"])
            g = json_of(cores_argv, env)
            on_cores.append(g["seconds_median"])
            cpu.append(g["cpu_seconds_median"])
            if not quick or objective == "ce":
                reference.append(json_of(reference_argv, env)["seconds_median"])
        if not f["converged"] or not g["converged"]:
            log(f"optimum {objective}: fast optimum not converged")
        m = statistics.median(fast)
        rows.append((f"optimum {objective} (paper3, eps 0.3, free scale), in-process, 1 thread", shlex.join(fast_argv[:6]),
                     fmt(m), spread(fast), fmt(target), verdict(m, target)))
        mc = statistics.median(on_cores)
        rows.append((f"the same on {cores} cores (CPU {fmt(statistics.median(cpu))})", shlex.join(cores_argv[:6] + cores_argv[-2:]),
                     fmt(mc), spread(on_cores), fmt(target), verdict(mc, target)))
        if reference:
            ratios.append((f"optimum {objective}: fast vs ccsim's own adaptive reference path", fmt(m), fmt(statistics.median(reference)),
                           statistics.median(reference) / m, None))
        log(f"optimum {objective}: {fmt(m)} (reference {fmt(statistics.median(reference)) if reference else '-'})")
    # scipy: the same ce optimum (eps = 0.48 * 5 / 8 = 0.3).
    scipy_argv = [python, os.path.join(REF, "sweep_ref.py"), "--points", "8", "--subset", "5"] + thr
    commands.append(shlex.join(scipy_argv))
    scipy = [json_of(scipy_argv, env)["seconds_per_point"] for _ in range(1 if quick else min(R, 3))]
    ce_fast = statistics.median([json_of([BENCH, "optimum", "--objective", "ce", "--eps", "0.3", "--repeats", "3"] + thr, env)["seconds_median"]
                                 for _ in range(len(scipy))])
    ratios.append(("optimum ce: fast vs scipy reference of the same optimum (sweep_ref.py, eps 0.3)", fmt(ce_fast),
                   fmt(statistics.median(scipy)), statistics.median(scipy) / ce_fast, "100x"))
    log(f"scipy ce optimum: {fmt(statistics.median(scipy))}")
    # scipy: the same ls:0.1 and trades:1 optima (bench/reference/pair_ref.py at eps 0.3), one run
    # each (the trades reference takes about 2 minutes), checked to be the same optimum.
    for objective in ("ls:0.1", "trades:1"):
        pair_argv = [python, os.path.join(REF, "pair_ref.py"), "--objective", objective, "--points", "8", "--subset", "5"] + thr
        commands.append(shlex.join(pair_argv))
        ref = json_of(pair_argv, env)
        fast = json_of([BENCH, "optimum", "--objective", objective, "--eps", "0.3", "--repeats", "3"] + thr, env)
        dw = max(abs(ref["w1"][0] - fast["w1"]), abs(ref["w2"][0] - fast["w2"]))
        dv = abs(ref["value"][0] - fast["value"])
        what = f"optimum {objective}: fast vs scipy reference of the same optimum (pair_ref.py, eps 0.3)"
        if dw > 1e-6 or dv > 1e-9:
            what += f" (**not the same optimum**: w off by {dw:.1e}, value by {dv:.1e})"
        ratios.append((what, fmt(fast["seconds_median"]), fmt(ref["seconds_per_point"]),
                       ref["seconds_per_point"] / fast["seconds_median"], "100x"))
        log(f"scipy {objective} optimum: {fmt(ref['seconds_per_point'])} (same optimum: w to {dw:.1e}, value to {dv:.1e})")

    # 2. Exact RA rate against scipy.
    n_cc, n_py = (2000, 100) if quick else (20000, 1000)
    ra_cc_argv = [BENCH, "ra", "--evaluations", str(n_cc), "--tolerance", "1e-10"] + thr
    ra_py_argv = [python, os.path.join(REF, "ra_ref.py"), "--evaluations", str(n_py), "--tolerance", "1e-10"] + thr
    commands += [shlex.join(ra_cc_argv), shlex.join(ra_py_argv)]
    ra = []
    for _ in range(R):
        c = json_of(ra_cc_argv, env)["rate"]
        p = json_of(ra_py_argv, env)["rate"]
        ra.append((c, p))
    ra_ratio = statistics.median([c / p for c, p in ra])
    ratios.append(("exact RA evaluations per second: ccsim vs scipy", f"{statistics.median([c for c, _ in ra]):.0f}/s",
                   f"{statistics.median([p for _, p in ra]):.0f}/s", ra_ratio, "20x"))
    log(f"RA ratio {ra_ratio:.1f}")

    # 3. CLI commands, wall clock with process start.
    with tempfile.TemporaryDirectory() as tmp:
        # A W off the symmetric family (FastL2GeneralTests.fixtures[0]) for `objective --weights`.
        weights = os.path.join(tmp, "w.json")
        with open(weights, "w") as f:
            json.dump({"weights": [[1.6, 0.1, -0.2, 0.05, 1.2, 1.4], [-0.1, 1.3, 0.15, 1.25, -0.05, 1.5],
                                   [0.2, -0.1, 1.45, 1.1, 1.35, 0.0]]}, f)
        # Models whose full-W Newton stalls where kinks meet (bench/ANALYSIS.md stop 48): the
        # bundle-Newton method continues from there.
        models = {
            "featureless": {"membership": [[1, 0, 1], [0, 1, 1], [0, 0, 0]], "mu": [1.0, 1.1, 0.8], "sigma": [0.5, 0.5, 0.6], "tau": 0},
            "m0": {"membership": [[1, 0, 0, 1, 0], [1, 1, 0, 0, 1], [1, 0, 1, 0, 0]], "mu": [1.48, 0.89, 0.83, 1.22, 1.13],
                   "sigma": [0.36, 0.59, 0.52, 0.44, 0.67], "tau": 0},
            "r2": {"membership": [[1, 1, 1, 1], [1, 0, 0, 1], [0, 0, 0, 1]], "mu": [1.28, 0.63, 0.93, 1.19],
                   "sigma": [0.69, 0.46, 0.66, 0.57], "tau": 0},
            # The family optimum on its face w1 = 0 (bench/ANALYSIS.md stop 49).
            "m10": {"membership": [[1, 1, 1], [1, 0, 0], [0, 1, 0]], "mu": [1.22, 0.88, 1.03], "sigma": [0.34, 0.31, 0.58], "tau": 0},
            # complement(3) with one exclusive and two cross-class features a class, exclusive
            # means 0, tau 0.2: l_2 trades' peaks tie to third order (bench/ANALYSIS.md stop 53).
            "x03": {"membership": [[1, 0, 0, 0, 1, 1], [0, 1, 0, 1, 0, 1], [0, 0, 1, 1, 1, 0]], "mu": [0, 0, 0, 0.3, 0.3, 0.3],
                    "sigma": [0.3] * 6, "tau": 0.2},
            "x12": {"membership": [[1, 0, 0, 0, 1, 1], [0, 1, 0, 1, 0, 1], [0, 0, 1, 1, 1, 0]], "mu": [0, 0, 0, 1.2, 1.2, 1.2],
                    "sigma": [0.3] * 6, "tau": 0.2},
        }
        for name, model in models.items():
            with open(os.path.join(tmp, name + ".json"), "w") as f:
                json.dump(model, f)
        def full_kinked(name, objective, target):
            return (f"`optimum --full --model {name}.json --eps 0.3 --objective {objective}` (kinks meet: bundle-Newton)",
                    [CCSIM, "optimum", "--full", "--model", os.path.join(tmp, name + ".json"), "--eps", "0.3", "--objective", objective], target)
        cli = [
            ("`ccsim verify` (default grid, README main job)", [CCSIM, "verify", "--out-dir", tmp], 5.0),
            ("canonical phase grid (15 x 12 x 3: ce, ls:0.1, worst-margin)",
             [CCSIM, "phase", "--sigmas", "0.1:1.5:0.1", "--eps", "0.04:0.48:0.04", "--objectives", "ce,ls:0.1,worst-margin",
              "--out", os.path.join(tmp, "phase.csv")], 60.0),
            ("`threshold --model complement:10 --objective worst-margin`",
             [CCSIM, "threshold", "--model", "complement:10", "--objective", "worst-margin"], 0.1),
            ("`optimum --norm l2 --eps 0.3 --objective ce`", [CCSIM, "optimum", "--norm", "l2", "--eps", "0.3", "--objective", "ce"], 2.0),
            ("`optimum --norm l2 --eps 0.3 --objective ls:0.1`", [CCSIM, "optimum", "--norm", "l2", "--eps", "0.3", "--objective", "ls:0.1"], 2.0),
            ("`optimum --norm l2 --eps 0.3 --objective trades:1`", [CCSIM, "optimum", "--norm", "l2", "--eps", "0.3", "--objective", "trades:1"], 2.0),
            ("`optimum --norm l2 --eps 0.3 --objective trades:6`", [CCSIM, "optimum", "--norm", "l2", "--eps", "0.3", "--objective", "trades:6"], 2.0),
            ("`optimum --full --eps 0.3 --objective ce`", [CCSIM, "optimum", "--full", "--eps", "0.3", "--objective", "ce"], 2.0),
            ("`optimum --full --eps 0.3 --objective ls:0.1`", [CCSIM, "optimum", "--full", "--eps", "0.3", "--objective", "ls:0.1"], 2.0),
            ("`optimum --full --eps 0.3 --objective trades:1`", [CCSIM, "optimum", "--full", "--eps", "0.3", "--objective", "trades:1"], 2.0),
            ("`optimum --full --eps 0.3 --objective trades:6`", [CCSIM, "optimum", "--full", "--eps", "0.3", "--objective", "trades:6"], 2.0),
            ("`optimum --full --norm l2 --eps 0.3 --objective ls:0.1`",
             [CCSIM, "optimum", "--full", "--norm", "l2", "--eps", "0.3", "--objective", "ls:0.1"], 2.0),
            ("`optimum --full --norm l2 --eps 0.3 --objective trades:6`",
             [CCSIM, "optimum", "--full", "--norm", "l2", "--eps", "0.3", "--objective", "trades:6"], 2.0),
            full_kinked("featureless", "ce", 2.0),
            full_kinked("featureless", "ls:0.1", 2.0),
            full_kinked("m0", "ce", 2.0),
            full_kinked("r2", "ls:0.1", None),
            ("`optimum --full --model m0.json --eps 0.3 --objective trades:1` (the fixed rules decline the symmetric start; over 20 min before stop 49)",
             [CCSIM, "optimum", "--full", "--model", os.path.join(tmp, "m0.json"), "--eps", "0.3", "--objective", "trades:1"], None),
            ("`optimum --model m10.json --eps 0.3 --objective ce` (the family's face w1 = 0)",
             [CCSIM, "optimum", "--model", os.path.join(tmp, "m10.json"), "--eps", "0.3", "--objective", "ce"], None),
            ("`optimum --model x03.json --norm l2 --eps 0.1 --objective trades:1` (exclusive means 0, tau 0.2; 14 s before stop 53)",
             [CCSIM, "optimum", "--model", os.path.join(tmp, "x03.json"), "--norm", "l2", "--eps", "0.1", "--objective", "trades:1"], 2.0),
            ("`optimum --model x12.json --norm l2 --eps 0.3 --objective trades:1` (the same, cross-class means 1.2; 22 s before stop 53)",
             [CCSIM, "optimum", "--model", os.path.join(tmp, "x12.json"), "--norm", "l2", "--eps", "0.3", "--objective", "trades:1"], 2.0),
            ("`threshold --norm l2 --objective ce`", [CCSIM, "threshold", "--norm", "l2", "--objective", "ce"], None),
            ("`threshold --model complement:4 --objective ls:0.1` (the axis w2 = 0 exact; was refused at the default tolerance)",
             [CCSIM, "threshold", "--model", "complement:4", "--objective", "ls:0.1"], None),
            ("`threshold --model pairwise:10 --objective worst-margin` (closed form)",
             [CCSIM, "threshold", "--model", "pairwise:10", "--objective", "worst-margin"], None),
            ("`objective --norm l2 --eps 0.3 --objective ls:0.1 --weights W` (a general W: fixed rules)",
             [CCSIM, "objective", "--norm", "l2", "--eps", "0.3", "--objective", "ls:0.1", "--weights", weights], None),
            ("the same with `--reference` (adaptive path)",
             [CCSIM, "objective", "--norm", "l2", "--eps", "0.3", "--objective", "ls:0.1", "--weights", weights, "--reference"], None),
        ]
        if quick:
            cli = [c for c in cli if "phase" not in c[0]]
        for label, argv, target in cli:
            walls, cpus = [], []
            for _ in range(R):
                wall, cpu, _ = timed(argv, env)
                walls.append(wall)
                cpus.append(cpu)
                if target is not None and wall > 30 * target:
                    break  # far off its target: one measurement says enough
            m = statistics.median(walls)
            command = shlex.join(argv).replace(ROOT + "/", "").replace(tmp, "$TMP")
            commands.append(command)
            rows.append((label + f" (CPU {fmt(statistics.median(cpus))})", command, fmt(m), spread(walls),
                         fmt(target) if target else "-", verdict(m, target) if target else "-"))
            log(f"{label}: {fmt(m)}")

    # 4. Cost against K, tolerance and grid size.
    scaling = json_of([BENCH, "scaling", "--max-classes", "10" if quick else "20"] + thr, env)["rows"]
    tolerance = json_of([BENCH, "tolerance"] + thr, env)
    commands += [shlex.join([BENCH, "scaling", "--max-classes", "20"] + thr), shlex.join([BENCH, "tolerance"] + thr)]
    elapsed = time.time() - started
    return rows, ratios, scaling, tolerance, commands, elapsed


def report(rows, ratios, scaling, tolerance, commands, elapsed, R, quick):
    out = ["# ccsim exact engine: issue 12's targets\n"]
    load = open("/proc/loadavg").read().split()[:3]
    out.append(f"Generated by `bench/run --exact{' --quick' if quick else ''}` on {datetime.date.today().isoformat()} "
               f"({R} repetition{'s' if R > 1 else ''}; {elapsed / 60:.1f} min; load average at the end {' '.join(load)}; "
               "1 BLAS thread). Times are medians (min-max beside them); ratios are taken between runs made back to back "
               "in this one invocation, so they hold whatever the machine's load.\n")
    out.append("## Targets\n")
    out.append("| task | command | median | min-max | target | verdict |")
    out.append("|---|---|---|---|---|---|")
    for r in rows:
        out.append("| " + " | ".join([r[0], f"`{r[1].replace(ROOT + '/', '')}`", r[2], r[3], r[4], r[5]]) + " |")
    out.append("\n## Ratios (same run)\n")
    out.append("| what | ccsim | reference | ratio | target |")
    out.append("|---|---|---|---|---|")
    for what, a, b, ratio, target in ratios:
        if target is None:
            out.append(f"| {what} | {a} | {b} | {ratio:.0f}x | - (for information) |")
            continue
        good = ratio >= float(target.split("x")[0])
        out.append(f"| {what} | {a} | {b} | {ratio:.0f}x | {target}: {'met' if good else '**missed**'} |")
    out.append("\n## Cost against K (complement(K), l_inf, eps 0.3, W(1, 0.5); best of 3)\n")
    out.append("| K | ce value | worst-margin value | RA | worst-margin threshold |")
    out.append("|---|---|---|---|---|")
    for r in scaling:
        out.append(f"| {r['K']} | {fmt(r['ce_seconds'])} | {fmt(r['worst_margin_seconds'])} | {fmt(r['ra_seconds'])} | {fmt(r['threshold_seconds'])} |")
    ks = [r["K"] for r in scaling]
    laws = []
    for key, name in [("ce_seconds", "ce value"), ("worst_margin_seconds", "worst-margin value"), ("ra_seconds", "RA"),
                      ("threshold_seconds", "threshold")]:
        laws.append(f"{name} ~ K^{slope(ks, [max(r[key], 1e-7) for r in scaling]):.2f}")
    out.append("\nGrowth law (least-squares slope of log cost on log K over K = "
               f"{ks[0]}..{ks[-1]}): " + ", ".join(laws) + ".\n")
    out.append("## Cost against the tolerance (paper3, l_inf, eps 0.3; best of 3)\n")
    out.append("| tolerance | ce value fast (error) | ce value reference (error) | RA (error) | ce optimum |")
    out.append("|---|---|---|---|---|")
    for r in tolerance["by_tolerance"]:
        out.append(f"| {r['tolerance']:g} | {fmt(r['ce_fast_seconds'])} ({r['ce_fast_error']:.1e}) | "
                   f"{fmt(r['ce_reference_seconds'])} ({r['ce_reference_error']:.1e}) | {fmt(r['ra_seconds'])} ({r['ra_error']:.1e}) | "
                   f"{fmt(r['ce_optimum_seconds'])} |")
    if tolerance.get("by_grid_size"):
        out.append("\n| eps-grid size (ce sweep, 1 worker) | seconds | per point |")
        out.append("|---|---|---|")
        for r in tolerance["by_grid_size"]:
            out.append(f"| {r['points']} | {fmt(r['seconds'])} | {fmt(r['seconds'] / r['points'])} |")
    out.append("\n## Commands\n")
    out.append("```")
    out += [c.replace(ROOT + "/", "") for c in commands]
    out.append("```\n")
    return "\n".join(out)


def main(R, quick, python):
    def log(msg):
        print(msg, flush=True)
    rows, ratios, scaling, tolerance, commands, elapsed = run(R, quick, python, log)
    text = report(rows, ratios, scaling, tolerance, commands, elapsed, R, quick)
    path = os.path.join(HERE, "RESULTS-exact-quick.md" if quick else "RESULTS-exact.md")
    with open(path, "w") as f:
        f.write(text)
    print(text)
    print(f"wrote {path}")
