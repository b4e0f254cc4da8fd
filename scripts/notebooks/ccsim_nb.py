"""Small helpers shared by the ccsim notebooks.

The notebooks read only files in results/ (a CSV and the JSON manifest beside it) and write
figures to notebooks-export/figures/. Nothing here knows grid sizes: everything is read from
the files.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import pandas as pd


def _find_root() -> Path:
    env = os.environ.get("CCSIM_ROOT")
    if env:
        return Path(env).resolve()
    here = Path.cwd().resolve()
    for p in [here, *here.parents]:
        if (p / "results").is_dir() and (p / "Package.swift").is_file():
            return p
    raise RuntimeError(
        "cannot find the ccsim repository root (a folder with results/ and Package.swift) "
        "above the working directory; set CCSIM_ROOT"
    )


ROOT = _find_root()
RESULTS = ROOT / "results"
FIGURES = Path(os.environ.get("CCSIM_FIGURES", ROOT / "notebooks-export" / "figures"))

# One colour per objective family, stable across figures.
_COLOURS = {
    "ce": "#1f77b4",
    "ls": "#ff7f0e",
    "kd": "#2ca02c",
    "worst-margin": "#d62728",
    "zero-one": "#9467bd",
    "trades": "#8c564b",
    "hinge": "#e377c2",
}
_EXTRA = ["#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"]


def style() -> None:
    """Deterministic, readable defaults for every figure."""
    matplotlib.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": 120,
            "font.size": 10,
            "axes.titlesize": 11,
            "axes.labelsize": 10,
            "legend.fontsize": 8.5,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "svg.hashsalt": "ccsim",
        }
    )


def load(name: str) -> tuple[pd.DataFrame, dict]:
    """results/<name>.csv and its manifest results/<name>.manifest.json."""
    csv = RESULTS / f"{name}.csv"
    js = RESULTS / f"{name}.manifest.json"
    if not csv.is_file():
        raise FileNotFoundError(f"{csv.relative_to(ROOT)} is missing: run scripts/regenerate-results")
    manifest = json.loads(js.read_text()) if js.is_file() else {}
    if not manifest:
        print(f"warning: no manifest {js.relative_to(ROOT)}")
    return pd.read_csv(csv), manifest


def config(manifest: dict) -> dict:
    return manifest.get("configuration", {}) or {}


def _single(values):
    if values is None:
        return None
    if isinstance(values, (int, float)):
        return float(values)
    vals = sorted({float(v) for v in values})
    return vals[0] if len(vals) == 1 else vals


def model_params(manifest: dict) -> dict:
    """Model name, mu, sigma as recorded in a manifest (None where the manifest is silent).

    Looks at configuration.resolved_model (sweeps), configuration.model (train),
    configuration.model_flags and configuration itself, in that order.
    """
    c = config(manifest)
    out = {"model": None, "mu": None, "sigma": None, "noise_dims": None}
    cands = []
    for key in ("resolved_model", "model", "model_flags"):
        v = c.get(key)
        if isinstance(v, dict):
            cands.append(v)
    cands.append(c)
    for d in cands:
        if out["model"] is None:
            m = d.get("name", d.get("model"))
            if isinstance(m, str):
                out["model"] = m
        if out["mu"] is None and d.get("mu") is not None:
            out["mu"] = _single(d["mu"])
        if out["sigma"] is None and d.get("sigma") is not None:
            out["sigma"] = _single(d["sigma"])
        for k in ("noise_dims", "noiseDimensions"):
            if out["noise_dims"] is None and d.get(k) is not None:
                out["noise_dims"] = d[k]
    return out


def describe(manifest: dict, default_model: str | None = None) -> str:
    """Short title fragment: model, sigma/mu, threat model (what the manifest records)."""
    p = model_params(manifest)
    c = config(manifest)
    parts = [p["model"] or default_model or "model not recorded"]
    mu = p["mu"]
    sig = p["sigma"]
    if isinstance(sig, float):
        parts.append(rf"$\sigma/\mu$ = {sig / (mu if isinstance(mu, float) else 1.0):g}"
                     + ("" if isinstance(mu, float) else r" ($\mu$ not recorded, taken as 1)"))
    elif isinstance(sig, list):
        parts.append(r"$\sigma$ per feature " + ",".join(f"{s:g}" for s in sig))
    else:
        parts.append(r"$\sigma$ not recorded in manifest")
    norm = c.get("norm") or (c.get("attack") or {}).get("norm")
    if norm:
        parts.append(norm.replace("linf", r"$\ell_\infty$").replace("l2", r"$\ell_2$"))
    return ", ".join(parts)


def family(objective: str) -> str:
    o = objective.split("[")[0].strip().split("@")[0]
    return o.split(":")[0]


def colour(objective: str, i: int = 0) -> str:
    return _COLOURS.get(family(objective), _EXTRA[i % len(_EXTRA)])


def objective_key(objective: str, scale) -> str:
    """'ce' + 'free' -> 'ce [free]', the naming used in thresholds.csv."""
    if isinstance(scale, float) and math.isnan(scale):
        return objective
    return f"{objective} [{scale}]"


def save(fig, name: str) -> Path:
    """Save as notebooks-export/figures/<name>.png, byte-stable (no software/time metadata)."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{name}.png"
    fig.savefig(path, dpi=120, bbox_inches="tight", metadata={"Software": None})
    try:
        shown = path.relative_to(ROOT)
    except ValueError:
        shown = path
    print(f"saved {shown}")
    return path


def show(fig, name: str) -> None:
    save(fig, name)
    plt.show()
