"""Speed benchmark: series per second in training and encoding, and peak memory.

For each size it times, in one process and one run:

* a pretraining epoch and a fine-tuning epoch of ``TSCCClusterer`` (default
  architecture: depth 10, hidden 64, repr 32, batch 64);
* ``transform`` of all series, first thing in a fresh process and again
  after the fit;
* a plain reference: the same architecture built from ``nn.Conv1d`` with the
  TS2Vec loss written the straightforward way (``log_softmax`` of the similarity
  matrix with the diagonal cut out by ``tril``/``triu``), two crops forward and
  backward per step with AdamW and nothing else;

and reports series/s, the ratios that matter, and the process's peak RSS.
Beside each, the CPU's (or GPU's) matrix-multiply floor: the time of the bare
``torch.matmul`` products that the encoder's blocks must do (forward and
backward at the crops a pretraining epoch draws; forward at the full length
for ``transform``), in the precision used, in the same process, and the
efficiency, floor time over measured time.
Then it times a ``GridSearchCV`` over ``n_clusters`` with and without the
``memory`` cache of the pretrained encoder (``--grid NxT``, "none" to skip).

The reference always runs in float32; ``--precision float32 bfloat16`` times
TSCCClusterer in both (default: "auto", bfloat16 where the hardware has
bfloat16 matrix units).

``--default-fit NxT`` instead times what a user waits for: ``fit_predict``
of ``TSCCClusterer(n_clusters=2)`` at its defaults, first thing in a fresh
process, on ``make_microseismic(N, T)`` (4928 x 500 is the paper's size), and
prints the wall time, NMI / ACC against the generator's labels and the peak
RSS; ``--set name=value`` changes a parameter (e.g. the paper's schedule,
``--set pretrain_epochs=25 --set finetune_epochs=25``).

Run:  python examples/benchmarks/speed.py            (paper size, 1 epoch each)
      python examples/benchmarks/speed.py --quick    (small smoke run)
      python examples/benchmarks/speed.py --sizes 1000x128 1000x500 --device cuda
      python examples/benchmarks/speed.py --default-fit 4928x500 --seeds 0 1 2
"""

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------- plain reference


class _RefBlock(nn.Module):
    def __init__(self, cin, cout, dilation, final):
        super().__init__()
        self.conv1 = nn.Conv1d(cin, cout, 3, padding=dilation, dilation=dilation)
        self.conv2 = nn.Conv1d(cout, cout, 3, padding=dilation, dilation=dilation)
        self.proj = nn.Conv1d(cin, cout, 1) if cin != cout or final else None

    def forward(self, x):
        res = x if self.proj is None else self.proj(x)
        return self.conv2(F.gelu(self.conv1(F.gelu(x)))) + res


class _RefEncoder(nn.Module):
    """The same architecture as tscc's encoder, written with nn.Conv1d."""

    def __init__(self, input_dims, repr_dims=32, hidden=64, depth=10):
        super().__init__()
        self.fc = nn.Linear(input_dims, hidden)
        chans = [hidden] * depth + [repr_dims]  # the paper's: plus an output block
        blocks, cin = [], hidden
        for i, cout in enumerate(chans):
            blocks.append(_RefBlock(cin, cout, 2**i, i == depth))
            cin = cout
        self.blocks = nn.Sequential(*blocks)
        self.dropout = nn.Dropout(0.1)

    def forward(self, x):
        nan = torch.isnan(x).any(-1)
        x = x.masked_fill(nan[..., None], 0)
        h = self.fc(x)
        mask = (torch.rand(h.shape[:2], device=h.device) < 0.5) & ~nan
        h = h * mask[..., None]
        return self.dropout(self.blocks(h.transpose(1, 2))).transpose(1, 2)


def _ref_instance(z1, z2):
    b = z1.size(0)
    if b == 1:
        return z1.new_tensor(0.0)
    z = torch.cat([z1, z2], 0).transpose(0, 1)
    sim = z @ z.transpose(1, 2)
    logits = torch.tril(sim, -1)[:, :, :-1] + torch.triu(sim, 1)[:, :, 1:]
    logits = -F.log_softmax(logits, -1)
    i = torch.arange(b, device=z1.device)
    return (logits[:, i, b + i - 1].mean() + logits[:, b + i, i].mean()) / 2


def _ref_temporal(z1, z2):
    t = z1.size(1)
    if t == 1:
        return z1.new_tensor(0.0)
    z = torch.cat([z1, z2], 1)
    sim = z @ z.transpose(1, 2)
    logits = torch.tril(sim, -1)[:, :, :-1] + torch.triu(sim, 1)[:, :, 1:]
    logits = -F.log_softmax(logits, -1)
    i = torch.arange(t, device=z1.device)
    return (logits[:, i, t + i - 1].mean() + logits[:, t + i, i].mean()) / 2


def _ref_loss(z1, z2):
    loss, d = z1.new_tensor(0.0), 0
    while z1.size(1) > 1:
        loss = loss + 0.5 * _ref_instance(z1, z2) + 0.5 * _ref_temporal(z1, z2)
        d += 1
        z1 = F.max_pool1d(z1.transpose(1, 2), 2).transpose(1, 2)
        z2 = F.max_pool1d(z2.transpose(1, 2), 2).transpose(1, 2)
    loss = loss + 0.5 * _ref_instance(z1, z2)
    return loss / (d + 1)


def reference_epoch(X, batch_size, device, rng):
    """One epoch of the plain reference; returns seconds."""
    encoder = _RefEncoder(X.shape[2]).to(device)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-3)
    data = torch.as_tensor(X, dtype=torch.float32)
    _sync(device)
    start = time.perf_counter()
    order = rng.permutation(len(data))
    for s in range(0, len(data), batch_size):
        x = data[order[s : s + batch_size]].to(device)
        t = x.size(1)
        crop_l = int(rng.integers(2, t + 1))
        left = int(rng.integers(t - crop_l + 1))
        right = left + crop_l
        eleft = int(rng.integers(left + 1))
        eright = int(rng.integers(right, t + 1))
        off = rng.integers(-eleft, t - eright + 1, size=x.size(0))
        idx1 = torch.as_tensor(off + eleft)[:, None] + torch.arange(right - eleft)
        idx2 = torch.as_tensor(off + left)[:, None] + torch.arange(eright - left)
        rows = torch.arange(x.size(0))[:, None]
        z1 = encoder(x[rows, idx1.to(device)])[:, -crop_l:]
        z2 = encoder(x[rows, idx2.to(device)])[:, :crop_l]
        loss = _ref_loss(z1, z2)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    _sync(device)
    return time.perf_counter() - start


# ---------------------------------------------------------------- tscc timing


# --------------------------------------------------------- matmul floor


def _block_products(rows, hidden=64, repr_dims=32, depth=10):
    """(m, k, n) of the matrix products of the encoder's blocks on ``rows``.

    Each block's two convolutions are one product each of the three stacked
    taps ``(rows, 3 C_in)`` with the weights ``(3 C_in, C_out)``; the output
    block adds its residual projection. The input projection (one channel
    in) is too small to count.
    """
    channels = [hidden] * (depth + 1) + [repr_dims]
    products = []
    for c_in, c_out in zip(channels[:-1], channels[1:], strict=True):
        products += [(rows, 3 * c_in, c_out), (rows, 3 * c_out, c_out)]
    products.append((rows, hidden, repr_dims))
    return products


def _pass_products(rows, backward):
    """Products of a forward (and backward) pass over ``rows`` timestamps."""
    products = []
    for m, k, n in _block_products(rows):
        products.append((m, k, n))  # forward: activations x weights
        if backward:
            products.append((m, n, k))  # gradient of the activations
            products.append((k, m, n))  # gradient of the weights
    return products


def _time_products(products, dtype, device, repeats=3):
    """Seconds of the bare ``torch.matmul`` of ``products``, best of ``repeats``."""
    operands = {}
    for m, k, n in set(products):
        a = torch.randn(m, k, device=device).to(dtype)
        b = torch.randn(k, n, device=device).to(dtype)
        operands[(m, k, n)] = (a, b)
    best = float("inf")
    with torch.inference_mode():
        for _ in range(repeats):
            _sync(device)
            start = time.perf_counter()
            for shape in products:
                torch.matmul(*operands[shape])
            _sync(device)
            best = min(best, time.perf_counter() - start)
    return best


def pretraining_floor_seconds(n, t, batch_size, dtype, device, seed):
    """Matmul floor of a pretraining epoch: the blocks' products at its crops.

    The crops are drawn as training draws them (:func:`tscc.augmentation.draw_crops`,
    the two views of every batch); the floor is the time of the bare products
    that the blocks' forward and backward passes must do on them, summed over
    the epoch's steps.
    """
    from tscc.augmentation import draw_crops

    rng = np.random.default_rng(seed)
    total = 0.0
    for start in range(0, n, batch_size):
        rows = min(batch_size, n - start)
        plan = draw_crops(rows, t, 2, rng)
        lengths = (
            plan.overlap_end - plan.left_start,
            plan.right_end - plan.overlap_start,
        )
        products = []
        for length in lengths:
            products += _pass_products(rows * length, backward=True)
        total += _time_products(products, dtype, device, repeats=1)
    return total


def encoding_floor_series_per_s(t, batch_size, dtype, device):
    """Matmul floor of ``transform``: series/s of the blocks' forward products."""
    seconds = _time_products(_pass_products(batch_size * t, False), dtype, device)
    return batch_size / seconds


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _fitted(X, device, precision, seed, epochs):
    from tscc import TSCCClusterer

    return TSCCClusterer(
        n_clusters=2,
        pretrain_epochs=epochs,
        finetune_epochs=epochs,
        n_init=1 if epochs == 0 else 10,
        device=device,
        precision=precision,
        random_state=seed,
    ).fit(X)


def _transform_seconds(est, X, device):
    _sync(device)
    start = time.perf_counter()
    est.transform(X)
    _sync(device)
    return time.perf_counter() - start


def fresh_transform_seconds(X, device, precision, seed):
    """Seconds of ``transform`` of all series, first thing in this process.

    The encoder is fitted with no epochs on one batch (its speed does not
    depend on its weights), as when a model is loaded to predict an archive.
    """
    est = _fitted(X[:64], device, precision, seed, epochs=0)
    return _transform_seconds(est, X, device)


def tscc_timings(X, device, precision, seed):
    """Seconds of a pretraining epoch, a fine-tuning epoch and transform.

    Also returns the precision used (``precision`` with "auto" resolved).
    """
    est = _fitted(X, device, precision, seed, epochs=1)
    pre, fine = (h["seconds"] for h in est.history_)
    return pre, fine, _transform_seconds(est, X, device), est.precision_


def run_size(n, t, device, precision, seed, reference):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, t, 1)).astype(np.float32)
    fresh = fresh_transform_seconds(X, device, precision, seed)
    pre, fine, enc, used = tscc_timings(X, device, precision, seed)
    row = {
        "n_samples": n,
        "n_timestamps": t,
        "device": device,
        "precision": used,
        "pretrain_series_per_s": n / pre,
        "finetune_series_per_s": n / fine,
        "transform_series_per_s": n / enc,
        "fresh_transform_series_per_s": n / fresh,
        "finetune_over_pretrain": fine / pre,
    }
    dtype = torch.bfloat16 if used == "bfloat16" else torch.float32
    floor = pretraining_floor_seconds(n, t, 64, dtype, device, seed)
    row["pretrain_floor_series_per_s"] = n / floor
    row["pretrain_efficiency"] = floor / pre
    encoding_floor = encoding_floor_series_per_s(t, 64, dtype, device)
    row["transform_floor_series_per_s"] = encoding_floor
    row["fresh_transform_efficiency"] = (n / fresh) / encoding_floor
    if reference:
        ref = reference_epoch(X, 64, device, np.random.default_rng(seed))
        row["reference_series_per_s"] = n / ref
        row["speedup_over_reference"] = ref / pre
    row["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if torch.device(device).type == "cuda":
        row["peak_cuda_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return row


def grid_search_saving(n, t, device, precision, seed):
    """Seconds of a GridSearchCV over n_clusters without and with ``memory``.

    Returns a dict with both times, the number of fits and the number of
    pretrainings each search ran.
    """
    import inspect
    import tempfile

    from sklearn.model_selection import GridSearchCV

    from tscc import TSCCClusterer, training

    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, t)).astype(np.float32)
    grid = {"n_clusters": [2, 3, 4]}
    base = dict(
        pretrain_epochs=3, finetune_epochs=1, device=device, precision=precision
    )
    calls = {"n": 0}
    pretrain = training.pretrain_encoder

    def counting_pretrain(*args, **kwargs):
        calls["n"] += 1
        return pretrain(*args, **kwargs)

    # joblib.Memory reads the signature to apply its ignore list
    counting_pretrain.__signature__ = inspect.signature(pretrain)

    # the estimator looks the function up in its module when it fits
    import tscc.estimator as estimator_module

    estimator_module.pretrain_encoder = counting_pretrain
    result = {"grid_size": f"{n}x{t}", "grid_candidates": len(grid["n_clusters"])}
    try:
        for label, memory in (("without", None), ("with", "cache")):
            calls["n"] = 0
            with tempfile.TemporaryDirectory() as cache:
                est = TSCCClusterer(
                    **base,
                    memory=cache if memory else None,
                    random_state=seed,
                )
                search = GridSearchCV(est, grid, cv=2)
                _sync(device)
                start = time.perf_counter()
                search.fit(X)
                _sync(device)
                result[f"grid_seconds_{label}_memory"] = time.perf_counter() - start
                result[f"grid_pretrainings_{label}_memory"] = calls["n"]
        result["grid_fits"] = 2 * len(grid["n_clusters"]) + 1
    finally:
        estimator_module.pretrain_encoder = pretrain
    return result


def default_fit(size, device, seed, params):
    """``fit_predict`` at the defaults (plus ``params``), in this fresh process."""
    from tscc import TSCCClusterer, clustering_scores, make_microseismic

    n, t = map(int, size.split("x"))
    X, y = make_microseismic(n_samples=n, n_timestamps=t, random_state=0)
    start = time.perf_counter()
    clusterer = TSCCClusterer(n_clusters=2, device=device, random_state=seed, **params)
    labels = clusterer.fit_predict(X)
    _sync(device)
    seconds = time.perf_counter() - start
    scores = clustering_scores(y, labels)
    return {
        "default_fit": size,
        "seed": seed,
        "params": params,
        "seconds": seconds,
        "nmi": float(scores["nmi"]),
        "acc": float(scores["acc"]),
        "precision": clusterer.precision_,
        "optimizer_steps": sum(h["steps"] for h in clusterer.history_),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "torch_threads": torch.get_num_threads(),
    }


def run_default_fits(args):
    """One fresh process per seed and setting; print and return their rows.

    With ``--against``, each seed's fit at those settings runs right before
    the one at ``--set``'s, so that the two compare on the same machine state.
    """
    variants = [args.set] if args.against is None else [args.against, args.set]
    rows = []
    for seed in args.seeds:
        for settings in variants:
            cmd = [sys.executable, __file__, "--fit-child", args.default_fit]
            cmd += ["--device", args.device, "--seed", str(seed)]
            for setting in settings:
                cmd += ["--set", setting]
            row = child_row(cmd)
            rows.append(row)
            print(
                f"default fit {row['default_fit']} seed {seed} {row['params'] or ''}: "
                f"{row['seconds']:.1f} s wall ({row['optimizer_steps']} steps, "
                f"{row['precision']}, {row['torch_threads']} threads), "
                f"NMI {row['nmi']:.3f}, ACC {row['acc']:.3f}, "
                f"peak RSS {row['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    return rows


def _literal_settings(settings):
    import ast

    params = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        params[name] = ast.literal_eval(value)
    return params


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=None, help="NxT, e.g. 4928x500")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--precision",
        nargs="+",
        default=["auto"],
        choices=["auto", "float32", "bfloat16"],
        help="precisions of TSCCClusterer to time (default: auto)",
    )
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--no-reference", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", default=None, help="write the rows to this file")
    parser.add_argument(
        "--grid",
        default=None,
        help="NxT of the GridSearchCV memory comparison (default: 512x128, "
        '--quick: 128x64; "none" skips it)',
    )
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="opt in to tscc.heap.keep_freed_memory() in each timed process",
    )
    parser.add_argument(
        "--default-fit",
        default=None,
        metavar="NxT",
        help="time fit_predict at the defaults in a fresh process (e.g. 4928x500)",
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="with --default-fit: a TSCCClusterer parameter (a Python literal)",
    )
    parser.add_argument(
        "--against",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        help="with --default-fit: also time a fit at these parameters "
        "(repeatable), alternating with the fit at --set's, seed by seed",
    )
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--fit-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.fit_child:
        params = _literal_settings(args.set)
        print(json.dumps(default_fit(args.fit_child, args.device, args.seed, params)))
        return
    if args.default_fit:
        write_rows(args.json, run_default_fits(args))
        return

    if args.one:  # child process: one size, so that peak memory is its own
        if args.keep_freed_memory:
            from tscc.heap import keep_freed_memory

            keep_freed_memory()
        n, t = map(int, args.one.split("x"))
        row = run_size(
            n, t, args.device, args.precision[0], args.seed, not args.no_reference
        )
        print(json.dumps(row))
        return

    sizes = args.sizes or (["256x128"] if args.quick else ["4928x500"])
    rows = []
    for size in sizes:
        for precision in args.precision:
            cmd = [sys.executable, __file__, "--one", size, "--device", args.device]
            cmd += ["--precision", precision, "--seed", str(args.seed)]
            cmd += ["--no-reference"] if args.no_reference else []
            cmd += ["--keep-freed-memory"] if args.keep_freed_memory else []
            rows.append(child_row(cmd))
            print(f"done {size} {precision}", file=sys.stderr, flush=True)

    cols = [
        ("n_samples", "n", "d"),
        ("n_timestamps", "T", "d"),
        ("precision", "precision", "s"),
        ("pretrain_series_per_s", "pretrain/s", ".1f"),
        ("finetune_series_per_s", "finetune/s", ".1f"),
        ("finetune_over_pretrain", "ft/pt", ".2f"),
        ("pretrain_floor_series_per_s", "pretrain floor/s", ".1f"),
        ("pretrain_efficiency", "pretrain / floor", ".2f"),
        ("fresh_transform_series_per_s", "fresh transform/s", ".0f"),
        ("transform_series_per_s", "transform/s", ".0f"),
        ("transform_floor_series_per_s", "transform floor/s", ".0f"),
        ("fresh_transform_efficiency", "fresh transform / floor", ".2f"),
        ("reference_series_per_s", "reference/s", ".1f"),
        ("speedup_over_reference", "speed-up", ".2f"),
        ("peak_rss_mb", "peak RSS MB", ".0f"),
    ]
    cols = [c for c in cols if c[0] in rows[0]]
    print(
        f"device: {args.device}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads"
    )
    print("| " + " | ".join(c[1] for c in cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        print("| " + " | ".join(format(row[c[0]], c[2]) for c in cols) + " |")
    grid = args.grid or ("128x64" if args.quick else "512x128")
    if grid != "none":
        n, t = map(int, grid.split("x"))
        saving = grid_search_saving(n, t, args.device, args.precision[0], args.seed)
        print(
            f"\nGridSearchCV over n_clusters in [2, 3, 4], cv=2 ("
            f"{saving['grid_fits']} fits incl. the refit, 3 + 1 epochs) on "
            f"{grid}: {saving['grid_seconds_without_memory']:.1f} s and "
            f"{saving['grid_pretrainings_without_memory']} pretrainings without "
            f"memory, {saving['grid_seconds_with_memory']:.1f} s and "
            f"{saving['grid_pretrainings_with_memory']} with memory=cache_dir."
        )
        rows.append(saving)
    write_rows(args.json, rows)


def child_row(cmd):
    """Run ``cmd`` (a fresh Python process) and return the JSON row it printed last."""
    run = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def write_rows(path, rows):
    """Write ``rows`` with the command and versions that measured them."""
    if not path:
        return
    import platform

    import tscc

    meta = {
        "command": " ".join(["python", *sys.argv]),
        "tscc_version": tscc.__version__,
        "torch_version": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "processor": platform.processor() or platform.machine(),
    }
    with open(path, "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
