"""bench/run's driver: runs every workload in ccsim and in its reference, alternately, R times,
checks that both computed the same thing, prints a table and writes bench/RESULTS.md.

Run through bench/run (which creates the virtual environment and builds ccsim-bench).
"""
import argparse
import datetime
import json
import re
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH = os.path.join(ROOT, ".build", "release", "ccsim-bench")
REF = os.path.join(HERE, "reference")
PY = sys.executable

COMMANDS = []  # (label, argv) of the first repetition of every workload


def run_json(argv, env, label, record):
    if record:
        COMMANDS.append((label, argv))
    out = subprocess.run(argv, env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.strip().startswith("{")]
    return json.loads(lines[-1])


def med(values):
    return statistics.median(values)


def spread(values):
    return f"{med(values):.4g} ({min(values):.4g}-{max(values):.4g})"


def sh(argv):
    return " ".join(shlex.quote(a) for a in argv)


def machine():
    def cmd(c):
        try:
            return subprocess.run(c, shell=True, capture_output=True, text=True, timeout=60).stdout.strip()
        except Exception as e:  # noqa: BLE001 - description only
            return f"unavailable ({e})"
    info = {}
    lscpu = cmd("lscpu")
    for line in lscpu.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "Hypervisor vendor", "L2 cache", "L3 cache", "Flags"):
            info[key.strip()] = value.strip()
    flags = info.pop("Flags", "")
    info["SIMD"] = " ".join(f for f in ("avx2", "fma", "avx512f") if f in flags.split())
    info["Memory"] = cmd("free -h | awk '/Mem:/ {print $2}'")
    info["OS"] = cmd(". /etc/os-release && echo $PRETTY_NAME") + ", kernel " + platform.release()
    info["Swift"] = cmd("swift --version 2>&1 | head -1")
    info["OpenBLAS"] = cmd("dpkg-query -W -f='${Package} ${Version}\\n' 'libopenblas0*' 2>/dev/null | tr '\\n' ';'")
    info["OpenBLAS kernel (as ccsim runs it)"] = cmd(
        PY + " -c \"import ctypes; l=ctypes.CDLL('libopenblas.so.0'); l.openblas_get_corename.restype=ctypes.c_char_p; print(l.openblas_get_corename().decode())\"")
    info["GSL"] = cmd("dpkg-query -W -f='${Version}' libgsl27 2>/dev/null")
    info["OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE"] = f"{os.environ.get('OPENBLAS_CORETYPE', 'unset')} / {os.environ.get('OPENBLAS_L2_SIZE', 'unset')}"
    info["Python"] = platform.python_version()
    info["numpy / scipy / torch"] = cmd(PY + " -c \"import numpy, scipy, torch; print(numpy.__version__, scipy.__version__, torch.__version__)\"")
    info["torch BLAS"] = cmd(PY + " -c \"import torch; c=torch.__config__.show(); print('MKL' if 'BLAS_INFO=mkl' in c else 'other', '/', torch.backends.cpu.get_cpu_capability())\"")
    info["load average at start"] = cmd("cat /proc/loadavg")
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="R = 1 and smaller sizes")
    ap.add_argument("--repeats", type=int, default=None, help="repetitions (default 5, 1 with --quick)")
    ap.add_argument("--threads", type=int, default=1, help="BLAS / torch / worker threads for both sides")
    ap.add_argument("--out", default=None, help="report file (default bench/RESULTS.md; bench/RESULTS-quick.md with --quick)")
    ap.add_argument("--render", metavar="RAW", help="only rewrite the report from a raw-results JSON file")
    ap.add_argument("--pair-sweep", action="store_true", help="with --render: measure ccsim on scipy's sweep points first")
    ap.add_argument("--exact", action="store_true",
                    help="only the exact engine's targets (issue 12; bench/exact.py): a few minutes, writes bench/RESULTS-exact.md")
    ap.add_argument("--random", action="store_true",
                    help="only the full-W optimum on random 3-class models (bench/random_models.py): about 12 minutes "
                         "(--quick: l_inf only), writes bench/RESULTS-random.md")
    a = ap.parse_args()
    if a.random:
        import random_models
        random_models.main(a.quick)
        return
    if a.exact:
        import exact
        exact.main(a.repeats or (1 if a.quick else 3), a.quick, PY)
        return
    if a.out is None:
        a.out = os.path.join(HERE, "RESULTS-quick.md" if a.quick else "RESULTS.md")
    if a.render:
        with open(a.render) as f:
            raw = json.load(f)
        if a.pair_sweep:
            # Measure ccsim on scipy's eps points next to scipy (for raw results recorded before
            # the driver did so), then rewrite the report.
            env = dict(os.environ)
            for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env[k] = str(raw["meta"]["T"])
            env["PYTHONPATH"] = REF
            thr = ["--threads", str(raw["meta"]["T"])]
            for i, entry in enumerate(raw["sweep"]):
                subset = ",".join(str(x) for x in entry["scipy"]["indices"])
                sweep_pair(entry, subset, thr, env, i == 0)
                print(f"sweep pair {i + 1}: ccsim {entry['ccsim_subset']['seconds_per_point']:.3f} s/point, scipy {entry['scipy']['seconds_per_point']:.3f} s/point", flush=True)
            raw["meta"]["commands"] += [[label, sh(argv).replace(ROOT + "/", "").replace(PY, "bench/.venv/bin/python")] for label, argv in COMMANDS]
            raw["meta"]["note"] = "sweep: ccsim on scipy's eps points and scipy re-measured back to back in a second pass (driver --render --pair-sweep)"
            with open(a.render, "w") as f:
                json.dump(raw, f, sort_keys=True)
        render(raw, a.out)
        return
    quick = a.quick
    R = a.repeats or (1 if quick else 5)
    T = a.threads
    env = dict(os.environ)
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[k] = str(T)
    env["PYTHONPATH"] = REF
    started = time.time()
    info = machine()
    thr = ["--threads", str(T)]

    # Sizes.
    ra_cc_n, ra_py_n = (5000, 300) if quick else (50000, 3000)
    sweep_cc = "10,20,30,40,50,60,70,80,90,100" if quick else "all"
    sweep_py = "50,100" if quick else "1,25,50,75,100"
    n_main = 2000 if quick else 10000
    epochs = 2 if quick else 3
    R_scale = 1 if quick else min(R, 3)

    raw = {"ra": [], "sweep": [], "train": [], "check": [], "gemm": [], "scale": []}

    def log(msg):
        print(f"[{time.time() - started:7.1f}s] {msg}", flush=True)

    # 1. Robust accuracy.
    for r in range(R):
        c = run_json([BENCH, "ra", "--evaluations", str(ra_cc_n), "--tolerance", "1e-10"] + thr, env, "ra ccsim", r == 0)
        p = run_json([PY, os.path.join(REF, "ra_ref.py"), "--evaluations", str(ra_py_n), "--tolerance", "1e-10"] + thr, env, "ra scipy", r == 0)
        raw["ra"].append({"ccsim": c, "scipy": p})
        log(f"ra {r + 1}/{R}: ccsim {c['rate']:.0f}/s, scipy {p['rate']:.0f}/s")

    # 2. ce-optimum sweep.
    for r in range(R):
        c = run_json([BENCH, "sweep", "--points", "100", "--subset", sweep_cc] + thr, env, "sweep ccsim (whole grid)", r == 0)
        raw["sweep"].append({"ccsim": c})
        sweep_pair(raw["sweep"][-1], sweep_py, thr, env, r == 0)
        p = raw["sweep"][-1]["scipy"]
        log(f"sweep {r + 1}/{R}: ccsim {c['seconds_per_point']:.3f} s/point ({c['points']} points), "
            f"{raw['sweep'][-1]['ccsim_subset']['seconds_per_point']:.3f} s/point on scipy's {p['points']} points, scipy {p['seconds_per_point']:.3f} s/point")

    # 3. PGD-10 AT epochs.
    for r in range(R):
        for arch in ("linear", "two-layer"):
            shape = ["--arch", arch, "--width", "256", "--noise-dims", "100", "--n-per-class", str(n_main), "--batch", "256",
                     "--pgd-steps", "10", "--epochs", str(epochs)]
            c = run_json([BENCH, "train-epoch", "--model", "paper3"] + shape + thr, env, f"train {arch} ccsim", r == 0)
            t64 = run_json([PY, os.path.join(REF, "train_ref.py"), "--model", "paper3", "--dtype", "float64"] + shape + thr, env, f"train {arch} torch float64", r == 0)
            t32 = run_json([PY, os.path.join(REF, "train_ref.py"), "--model", "paper3", "--dtype", "float32"] + shape + thr, env, f"train {arch} torch float32", r == 0)
            raw["train"].append({"arch": arch, "ccsim": c, "torch64": t64, "torch32": t32})
            log(f"train {arch} {r + 1}/{R}: ccsim {c['samples_per_second']:.0f}/s, torch64 {t64['samples_per_second']:.0f}/s, torch32 {t32['samples_per_second']:.0f}/s")
    check_file = os.path.join(ROOT, ".build", "bench-train-check.json")
    for arch in ("linear", "two-layer"):
        c = run_json([BENCH, "train-check", "--arch", arch, "--n-per-class", "500", "--out", check_file] + thr, env, f"train-check {arch} ccsim", True)
        p = run_json([PY, os.path.join(REF, "train_ref.py"), "--check", check_file] + thr, env, f"train-check {arch} torch", True)
        raw["check"].append({"arch": arch, "ccsim": c, "torch": p})
    os.remove(check_file)

    # 4. Matrix products.
    widths = (64, 256) if quick else (64, 128, 256, 512)
    for r in range(R):
        for w in widths:
            g = run_json([BENCH, "gemm", "--arch", "two-layer", "--width", str(w), "--n-per-class", str(n_main), "--epochs", "2"] + thr,
                         env, f"gemm width {w}", r == 0)
            raw["gemm"].append(g)
        log(f"gemm {r + 1}/{R}: " + ", ".join(f"w{g['width']} {g['ratio']:.2f}" for g in raw["gemm"][-len(widths):]))

    # Scaling (ccsim only): n, width, K.
    scale_n = (500, 1000, 2000) if quick else (2500, 5000, 10000)
    scale_k = (3, 5, 10, 20)
    n_k = 500 if quick else 2500
    for r in range(R_scale):
        configs = [("n", n, "paper3", 256, n) for n in scale_n]
        configs += [("width", w, "paper3", w, n_main) for w in widths]
        configs += [("K", k, f"complement:{k}", 256, n_k) for k in scale_k]
        for kind, value, model, width, n in configs:
            c = run_json([BENCH, "train-epoch", "--model", model, "--arch", "two-layer", "--width", str(width), "--n-per-class", str(n),
                          "--epochs", "2"] + thr, env, f"scale {kind}={value}", r == 0)
            raw["scale"].append({"kind": kind, "value": value, "result": c})
        log(f"scaling {r + 1}/{R_scale} done")

    info["load average at end"] = open("/proc/loadavg").read().strip()
    elapsed = time.time() - started
    raw["meta"] = {"info": info, "R": R, "T": T, "quick": quick, "elapsed": elapsed, "R_scale": R_scale,
                   "commands": [[label, sh(argv).replace(ROOT + "/", "").replace(PY, "bench/.venv/bin/python")] for label, argv in COMMANDS]}
    with open(os.path.join(HERE, "raw-results.json" if not quick else "raw-results-quick.json"), "w") as f:
        json.dump(raw, f, sort_keys=True)
    render(raw, a.out)


def sweep_pair(entry, subset, thr, env, record):
    """ccsim and scipy on the same eps points, back to back (per-point cost depends on eps)."""
    entry["ccsim_subset"] = run_json([BENCH, "sweep", "--points", "100", "--subset", subset] + thr, env, "sweep ccsim (scipy's points)", record)
    entry["scipy"] = run_json([PY, os.path.join(REF, "sweep_ref.py"), "--points", "100", "--subset", subset] + thr, env, "sweep scipy", record)


def other_reports():
    """Where the exact engine's targets (issue 12) stand, read from the reports `bench/run --exact`
    and `bench/run --random` wrote: their dates and verdict counts, so this report's first page
    does not leave a reader with the training workloads alone."""
    lines = ["## The exact engine's targets (other reports)\n",
             "| report | generated | rows with a target | met | missed |", "|---|---|---|---|---|"]
    for name, what in (("RESULTS-exact.md", "issue 12's targets on paper3 and the models named there (`bench/run --exact`)"),
                       ("RESULTS-random.md", "the full-W trades optimum on random 3-class models, target 2 s (`bench/run --random`)")):
        path = os.path.join(HERE, name)
        if not os.path.exists(path):
            lines.append(f"| {name}: {what} | not generated | - | - | - |")
            continue
        text = open(path).read()
        date = re.search(r"Generated by `[^`]*` on (\d{4}-\d{2}-\d{2})", text)
        met = missed = 0
        for row in text.splitlines():
            cells = [c.strip() for c in row.strip().strip("|").split("|")] if row.startswith("|") else []
            if any(c == "met" or c.startswith("100x: met") or c.startswith("20x: met") for c in cells):
                met += 1
            elif any(c == "**missed**" or c.endswith(": **missed**") for c in cells):
                missed += 1
        lines.append(f"| [{name}]({name}): {what} | {date.group(1) if date else '?'} | {met + missed} | {met} | {missed} |")
    lines.append("\nThe gaps, and where the time goes in them, are in the newest sections of the analysis below.\n")
    return lines


def render(raw, out_path):
    m = raw["meta"]
    report = build_report(raw, m["info"], m["R"], m["T"], m["quick"], m["elapsed"], m["R_scale"], m["commands"])
    with open(out_path, "w") as f:
        f.write(report)
    print()
    print(table_text)
    print(f"wrote {out_path}")


table_text = ""


def build_report(raw, info, R, T, quick, elapsed, R_scale, commands):
    global table_text
    rows, verdicts = [], []

    # RA.
    cc = [x["ccsim"]["rate"] for x in raw["ra"]]
    py = [x["scipy"]["rate"] for x in raw["ra"]]
    ra_ratio = [a / b for a, b in zip(cc, py)]
    ra_diff = max(max(abs(a - b) for a, b in zip(x["ccsim"]["values"], x["scipy"]["values"])) for x in raw["ra"])
    ra_ok = ra_diff <= 1e-8
    rows.append(("1. exact RA, evaluations/s (tol 1e-10)", spread(cc), spread(py), spread(ra_ratio), ">= 20x", med(ra_ratio) >= 20))
    checks = [f"RA: {len(raw['ra'][0]['ccsim']['values'])} values (w2/w1 in [0, 1.5], eps 0.3, sigma 0.5), max |ccsim - scipy| = {ra_diff:.2e} (limit 1e-8): {'agree' if ra_ok else 'DISAGREE'}"]

    # Sweep.
    cc_all = [x["ccsim"]["seconds_per_point"] for x in raw["sweep"]]
    cc = [x["ccsim_subset"]["seconds_per_point"] for x in raw["sweep"]]
    py = [x["scipy"]["seconds_per_point"] for x in raw["sweep"]]
    sw_ratio = [b / a for a, b in zip(cc, py)]
    s0 = raw["sweep"][0]
    by_index = {i: k for k, i in enumerate(s0["ccsim"]["indices"])}
    dr, dv = 0.0, 0.0
    for x in raw["sweep"]:
        c, p = x["ccsim"], x["scipy"]
        for k, i in enumerate(p["indices"]):
            j = by_index[i]
            dr = max(dr, abs(c["ratio"][j] - p["ratio"][k]))
            dv = max(dv, abs(c["value"][j] - p["value"][k]))
            sub = x["ccsim_subset"]
            dr = max(dr, abs(sub["ratio"][k] - p["ratio"][k]))
            dv = max(dv, abs(sub["value"][k] - p["value"][k]))
    sw_ok = dr <= 1e-5 and dv <= 1e-8
    rows.append((f"2. ce-optimum sweep, s/point on the same {s0['scipy']['points']} eps points", spread(cc), spread(py), spread(sw_ratio), ">= 20x", med(sw_ratio) >= 20))
    rows.append((f"   ccsim, whole {s0['ccsim']['points']}-point sweep, s/point (information)", spread(cc_all), "-", "-", "-", None))
    checks.append(f"sweep: scipy's eps indices {s0['scipy']['indices']} (of 100, eps = 0.48 i / 100): max |w2/w1 difference| = {dr:.2e} (limit 1e-5), "
                  f"max |objective difference| = {dv:.2e} (limit 1e-8): {'agree' if sw_ok else 'DISAGREE'}")

    # Training.
    train_rows = {}
    for arch in ("linear", "two-layer"):
        xs = [x for x in raw["train"] if x["arch"] == arch]
        cc = [x["ccsim"]["samples_per_second"] for x in xs]
        t64 = [x["torch64"]["samples_per_second"] for x in xs]
        t32 = [x["torch32"]["samples_per_second"] for x in xs]
        ratio = [a / b for a, b in zip(cc, t64)]
        ratio32 = [a / b for a, b in zip(cc, t32)]
        train_rows[arch] = (cc, t64, t32, ratio, ratio32, xs)
        rows.append((f"3. PGD-10 AT epoch, {arch}, samples/s (torch float64)", spread(cc), spread(t64), spread(ratio), ">= 1.5x", med(ratio) >= 1.5))
        rows.append((f"   {arch} vs torch float32 (information)", spread(cc), spread(t32), spread(ratio32), "-", None))
    for x in raw["check"]:
        p = x["torch"]
        ok = p["max_abs_parameter_difference"] <= 1e-10
        checks.append(f"training, {x['arch']}: one epoch ({p['batches']} batches of 256, n = 500 per class, PGD-10 from the clean input) replayed in torch from ccsim's data and initial "
                      f"parameters: max |parameter difference| = {p['max_abs_parameter_difference']:.2e} (parameters moved by {p['parameter_change_norm']:.3g}), "
                      f"max |batch loss difference| = {p['max_abs_batch_loss_difference']:.2e}: {'agree' if ok else 'DISAGREE'}")

    # GEMM.
    gemm_by_w = {}
    for g in raw["gemm"]:
        gemm_by_w.setdefault(g["width"], []).append(g)
    for w, gs in sorted(gemm_by_w.items()):
        ratio = [g["ratio"] for g in gs]
        goal = w >= 256
        rows.append((f"4. trainer GEMM GFLOP/s vs dgemm, width {w}", spread([g["trainer_gflops"] for g in gs]), spread([g["dgemm_gflops"] for g in gs]),
                     spread(ratio), ">= 0.5" if goal else "-", (med(ratio) >= 0.5) if goal else None))

    # Memory.
    mem_lines, mem_ok = [], True
    for arch in ("linear", "two-layer"):
        xs = train_rows[arch][5]
        growth = max(x["ccsim"]["rss_kib_after_epoch"][-1] - x["ccsim"]["rss_kib_after_epoch"][1] for x in xs) if len(xs[0]["ccsim"]["rss_kib_after_epoch"]) > 1 else 0
        tgrowth = max(x["torch64"]["rss_kib_after_epoch"][-1] - x["torch64"]["rss_kib_after_epoch"][1] for x in xs) if len(xs[0]["torch64"]["rss_kib_after_epoch"]) > 1 else 0
        mem_ok = mem_ok and growth <= 1024
        mem_lines.append(f"| {arch} | {' / '.join(str(v // 1024) for v in xs[0]['ccsim']['rss_kib_after_epoch'])} | {growth} | "
                         f"{med([x['ccsim']['peak_rss_kib'] for x in xs]) / 1024:.0f} | {' / '.join(str(v // 1024) for v in xs[0]['torch64']['rss_kib_after_epoch'])} | {tgrowth} | "
                         f"{med([x['torch64']['peak_rss_kib'] for x in xs]) / 1024:.0f} |")
    rows.append(("memory growth from epoch 2 to the last (ccsim)", "see below", "", "", "no growth", mem_ok))

    # Table.
    header = "| workload | ccsim median (min-max) | reference median (min-max) | ratio median (min-max) | goal | verdict |"
    lines = [header, "|---|---|---|---|---|---|"]
    for name, a, b, ratio, goal, ok in rows:
        verdict = "-" if ok is None else ("**met**" if ok else "**missed**")
        lines.append(f"| {name} | {a} | {b} | {ratio} | {goal} | {verdict} |")
    table_text = "\n".join(lines)

    # Peak RSS per workload.
    def peak(xs):
        return f"{med(xs) / 1024:.0f}"
    peaks = [
        "| workload | ccsim peak RSS (MiB) | reference peak RSS (MiB) |", "|---|---|---|",
        f"| RA | {peak([x['ccsim']['peak_rss_kib'] for x in raw['ra']])} | {peak([x['scipy']['peak_rss_kib'] for x in raw['ra']])} |",
        f"| sweep | {peak([x['ccsim']['peak_rss_kib'] for x in raw['sweep']])} | {peak([x['scipy']['peak_rss_kib'] for x in raw['sweep']])} |",
    ]
    for arch in ("linear", "two-layer"):
        xs = train_rows[arch][5]
        peaks.append(f"| train {arch} | {peak([x['ccsim']['peak_rss_kib'] for x in xs])} | {peak([x['torch64']['peak_rss_kib'] for x in xs])} (float64), {peak([x['torch32']['peak_rss_kib'] for x in xs])} (float32) |")
    for w, gs in sorted(gemm_by_w.items()):
        peaks.append(f"| gemm width {w} | {peak([g['peak_rss_kib'] for g in gs])} | - |")

    # Scaling.
    scale_lines = ["| varied | value | classes | inputs | width | samples/epoch | epoch s (median) | samples/s | us per sample | peak RSS MiB |", "|---|---|---|---|---|---|---|---|---|---|"]
    groups = {}
    for s in raw["scale"]:
        groups.setdefault((s["kind"], s["value"]), []).append(s["result"])
    for (kind, value), rs in groups.items():
        secs = med([r["epoch_seconds"][-1] for r in rs])
        r0 = rs[0]
        scale_lines.append(f"| {kind} | {value} | {r0['classes']} | {r0['inputs']} | {r0['width']} | {r0['samples_per_epoch']} | {secs:.3f} | "
                           f"{r0['samples_per_epoch'] / secs:.0f} | {1e6 * secs / r0['samples_per_epoch']:.1f} | {med([r['peak_rss_kib'] for r in rs]) / 1024:.0f} |")

    # Per-shape GEMM detail (first run at the largest width).
    detail = []
    for w, gs in sorted(gemm_by_w.items()):
        if w < 256:
            continue
        detail.append(f"\nwidth {w}, batch 256 (one training step; dgemm alone on each shape):\n")
        detail.append("| product (op, m x n x k) | per step | share of the step's flops | dgemm GFLOP/s |")
        detail.append("|---|---|---|---|")
        for p in gs[0]["per_shape"]:
            detail.append(f"| {p['shape']} | {p['per_step']} | {100 * p['flop_share']:.1f}% | {p['dgemm_gflops']:.1f} |")

    analysis_path = os.path.join(HERE, "ANALYSIS.md")
    analysis = open(analysis_path).read() if os.path.exists(analysis_path) else ""

    out = []
    out.append("# ccsim benchmark results\n")
    out.append(f"Generated by `bench/run{' --quick' if quick else ''}{'' if T == 1 else f' --threads {T}'}` on {datetime.date.today().isoformat()} "
               f"({R} repetition{'s' if R > 1 else ''} of every workload, ccsim and reference alternately; scaling runs {R_scale}x; "
               f"{T} thread{'s' if T > 1 else ''} for BLAS, torch and workers on both sides; total {elapsed / 60:.1f} min). "
               "Every number is a median with min-max over the repetitions; ratios are taken within a repetition "
               "(ccsim and the reference ran back to back), so they are less noisy than the absolute numbers. "
               "The machine is shared (2 cores, another engineer building and testing): absolute times are noisy.\n")
    if raw.get("meta", {}).get("note"):
        out.append(f"Note: {raw['meta']['note']}.\n")
    out.append("## Machine\n")
    for k, v in info.items():
        out.append(f"- {k}: {v}")
    out.append("\n## Results\n")
    out.append(table_text)
    out.append("\nRatios are ccsim / reference for rates (RA evaluations/s, samples/s, GFLOP/s) and reference / ccsim for "
               "times (sweep seconds per point): above 1 means ccsim is faster.\n")
    out.extend(other_reports())
    out.append("## Same computation on both sides\n")
    for c in checks:
        out.append(f"- {c}")
    out.append("\n## Peak resident memory (getrusage)\n")
    out.extend(peaks)
    out.append("\n## Memory from epoch to epoch (current RSS after each epoch, MiB; growth in KiB)\n")
    out.append("| arch | ccsim RSS after epochs 1..E | ccsim growth epoch 2 -> E (KiB) | ccsim peak | torch float64 RSS after epochs | torch growth (KiB) | torch peak |")
    out.append("|---|---|---|---|---|---|---|")
    out.extend(mem_lines)
    out.append("\n## Scaling (ccsim, two-layer, PGD-10, batch 256, one timed epoch after a warm-up)\n")
    out.extend(scale_lines)
    out.append("\n## Trainer matrix products\n")
    out.append("GFLOP/s = flops of every matrix product the trainer issues in an epoch (PGD-10: 11 forward and 10 input-gradient "
               "passes, then one forward and one parameter-gradient pass per batch; counted from the shapes) / epoch time; "
               "dgemm = the same products, same shapes and transposes, back to back through the BLAS wrapper.")
    out.extend(detail)
    out.append("\n## Exact commands (first repetition; the driver alternates ccsim and reference)\n")
    out.append("```sh")
    out.append(f"# environment: OPENBLAS_NUM_THREADS={T} OMP_NUM_THREADS={T} MKL_NUM_THREADS={T} PYTHONPATH=bench/reference, python = bench/.venv/bin/python")
    for label, text in commands:
        out.append(f"{text}    # {label}")
    out.append("```\n")
    if analysis:
        out.append(analysis)
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
