"""Reference for `ccsim-bench train-epoch` / `train-check`: PGD-AT epochs in PyTorch on the CPU.

Same workload as ccsim's Trainer (Sources/CrossClass/Train): data from complement(K) (paper3 is
K = 3; mu = 1, sigma = 0.5, tau = 0) plus `noise_dims` N(0, 1) coordinates, n per class; a
linear model or a two-layer ReLU network (PyTorch's default nn.Linear initialisation, as ccsim);
per batch of `batch` shuffled samples: PGD-k on the cross-entropy (l_inf, uniform random start in
the box, step eps/4, sign of the input gradient, projection onto the box), then the mean
cross-entropy at the adversarial inputs, SGD (momentum 0.9, weight decay 5e-4 on weights only,
as ccsim). Double precision by default (ccsim computes in double); `--dtype float32` as extra
information.

`--check FILE` replays the file written by `ccsim-bench train-check` (same data, initial
parameters and batch order, PGD started at the clean input) and reports how far the final
parameters are from ccsim's.

Prints one JSON object.
"""
import argparse
import json
import os
import resource
import time


def rss_kib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def make_data(torch, classes, noise_dims, n_per_class, dtype, generator):
    """Balanced sample from complement(K) + noise dims, rows in random order."""
    k = classes
    membership = torch.zeros(k, 2 * k, dtype=dtype)
    for y in range(k):
        membership[y, y] = 1
        for j in range(k):
            if j != y:
                membership[y, k + j] = 1
    n = n_per_class * k
    labels = torch.arange(n) % k
    labels = labels[torch.randperm(n, generator=generator)]
    signal = membership[labels] * (1.0 + 0.5 * torch.randn(n, 2 * k, dtype=dtype, generator=generator))
    noise = torch.randn(n, noise_dims, dtype=dtype, generator=generator)
    return torch.cat([signal, noise], dim=1).contiguous(), labels


def build(torch, arch, inputs, width, classes, dtype):
    nn = torch.nn
    if arch == "linear":
        model = nn.Linear(inputs, classes)
    else:
        model = nn.Sequential(nn.Linear(inputs, width), nn.ReLU(), nn.Linear(width, classes))
    return model.to(dtype)


def optimizer_for(torch, model, lr):
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    return torch.optim.SGD([{"params": weights, "weight_decay": 5e-4}, {"params": biases, "weight_decay": 0.0}],
                           lr=lr, momentum=0.9)


def pgd(torch, model, x, y, eps, alpha, steps, random_start, generator):
    F = torch.nn.functional
    lower, upper = x - eps, x + eps
    if random_start:
        adv = x + (torch.rand(x.shape, dtype=x.dtype, generator=generator) * 2 - 1) * eps
    else:
        adv = x.clone()
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = F.cross_entropy(model(adv), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, adv)
        adv = torch.minimum(torch.maximum(adv.detach() + alpha * grad.sign(), lower), upper)
    return adv.detach()


def train_step(torch, model, opt, x, y, eps, alpha, steps, random_start, generator):
    F = torch.nn.functional
    adv = pgd(torch, model, x, y, eps, alpha, steps, random_start, generator)
    loss = F.cross_entropy(model(adv), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def flat_parameters(torch, model, arch):
    """Parameters in ccsim's order: linear W, b; two-layer U, b_u, V, c."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def load_parameters(torch, model, flat):
    offset = 0
    with torch.no_grad():
        for p in model.parameters():
            n = p.numel()
            p.copy_(flat[offset:offset + n].reshape(p.shape))
            offset += n


def run_check(torch, path):
    with open(path) as f:
        c = json.load(f)
    dtype = torch.float64
    d, k = c["inputs"], c["classes"]
    model = build(torch, c["arch"], d, c["width"], k, dtype)
    load_parameters(torch, model, torch.tensor(c["initial"], dtype=dtype))
    opt = optimizer_for(torch, model, c["lr"])
    x = torch.tensor(c["x"], dtype=dtype).reshape(-1, d)
    y = torch.tensor(c["y"], dtype=torch.long)
    losses = []
    for start in range(0, x.shape[0], c["batch"]):
        xb, yb = x[start:start + c["batch"]], y[start:start + c["batch"]]
        losses.append(float(train_step(torch, model, opt, xb, yb, c["eps"], c["step_size"], c["pgd_steps"], False, None)))
    final = flat_parameters(torch, model, c["arch"])
    reference = torch.tensor(c["final"], dtype=dtype)
    initial = torch.tensor(c["initial"], dtype=dtype)
    loss_diff = max(abs(a - b) for a, b in zip(losses, c["batch_losses"]))
    return {
        "workload": "train-check", "implementation": "torch", "arch": c["arch"], "batches": len(losses),
        "max_abs_parameter_difference": float((final - reference).abs().max()),
        "parameter_change_norm": float((reference - initial).norm()),
        "max_abs_batch_loss_difference": loss_diff, "mean_loss": sum(losses) / len(losses),
        "mean_loss_ccsim": sum(c["batch_losses"]) / len(c["batch_losses"]),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", default="paper3")
    ap.add_argument("--arch", default="two-layer", choices=["linear", "two-layer"])
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--noise-dims", type=int, default=100)
    ap.add_argument("--n-per-class", type=int, default=10_000)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--pgd-steps", type=int, default=10)
    ap.add_argument("--eps", type=float, default=0.2)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check", help="replay a `ccsim-bench train-check` file")
    a = ap.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(1)
    if a.check:
        print(json.dumps(run_check(torch, a.check), sort_keys=True))
        return

    dtype = torch.float64 if a.dtype == "float64" else torch.float32
    if a.model == "paper3":
        classes = 3
    elif a.model.startswith("complement:"):
        classes = int(a.model.split(":", 1)[1])
    else:
        raise SystemExit(f"--model {a.model}: use paper3 or complement:K")
    generator = torch.Generator().manual_seed(a.seed)
    torch.manual_seed(a.seed)
    setup_start = time.perf_counter()
    x, y = make_data(torch, classes, a.noise_dims, a.n_per_class, dtype, generator)
    model = build(torch, a.arch, x.shape[1], a.width, classes, dtype)
    opt = optimizer_for(torch, model, a.lr)
    setup = time.perf_counter() - setup_start
    n = x.shape[0]
    alpha = a.eps / 4
    seconds, losses, rss, peaks = [], [], [], []
    for _ in range(a.epochs):
        start = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for s in range(0, n, a.batch):
            idx = order[s:s + a.batch]
            xb, yb = x[idx], y[idx]
            total += train_step(torch, model, opt, xb, yb, a.eps, alpha, a.pgd_steps, True, generator) * len(idx)
        losses.append(float(total) / n)
        seconds.append(time.perf_counter() - start)
        rss.append(rss_kib())
        peaks.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    timed = seconds[1:] if a.epochs > 1 else seconds
    print(json.dumps({
        "workload": "train-epoch", "implementation": "torch", "model": a.model, "classes": classes, "arch": a.arch,
        "width": a.width, "inputs": x.shape[1], "n_per_class": a.n_per_class, "samples_per_epoch": n, "batch": a.batch,
        "pgd_steps": a.pgd_steps, "eps": a.eps, "epochs": a.epochs, "epoch_seconds": seconds, "setup_seconds": setup,
        "samples_per_second": n * len(timed) / sum(timed), "epoch_losses": losses, "rss_kib_after_epoch": rss,
        "peak_rss_kib_after_epoch": peaks, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "dtype": a.dtype, "threads": a.threads, "torch": torch.__version__,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
