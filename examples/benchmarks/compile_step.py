"""Does ``torch.compile`` pay for itself in a fit? One pretraining step, timed.

Times the pretraining step of the default architecture (11 blocks, batch 64,
bfloat16 where ``precision="auto"`` picks it) on random series, in three
modes, each in a fresh process so that no compilation is shared:

* ``eager``: the library as it is;
* ``dynamic``: the encoder's blocks under ``torch.compile(dynamic=True)``, the
  crops' random lengths as they come;
* ``static``: ``torch.compile(dynamic=False)`` with both crops at one fixed
  length (the best case of rounding crop lengths up to a few buckets: one
  bucket, compiled once).

For each mode it records the seconds of the first step (which compiles), of
the next two and the mean of ten more. A fit of ``n`` steps costs about
``first + (n - 1) * step``: compiling pays where that is below the eager
fit's ``n * step``.

Run: python examples/benchmarks/compile_step.py [--out results/compile_step.json]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

MODES = ("eager", "dynamic", "static")


def step_seconds(mode, n_timestamps=500, batch_size=64, seed=0, repeats=10):
    """Seconds of the first step, the next two and the mean of ``repeats`` more."""
    from tscc._validation import resolve_precision
    from tscc.augmentation import draw_crops, take_windows
    from tscc.encoder import TSEncoder
    from tscc.losses import hierarchical_contrastive_loss

    torch.manual_seed(seed)
    precision = resolve_precision("auto", torch.device("cpu"))
    encoder = TSEncoder(1, precision=precision)
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=1e-3)
    if mode != "eager":
        encoder.blocks = torch.compile(encoder.blocks, dynamic=mode == "dynamic")
    series = torch.randn(batch_size, n_timestamps, 1)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)

    def step():
        plan = draw_crops(batch_size, n_timestamps, 2, rng)
        lengths = (
            plan.overlap_end - plan.left_start,
            plan.right_end - plan.overlap_start,
        )
        starts = (plan.offsets + plan.left_start, plan.offsets + plan.overlap_start)
        if mode == "static":  # one bucket: both views at the full length
            lengths, starts = (n_timestamps, n_timestamps), (0 * plan.offsets,) * 2
        views = [
            take_windows(series, s, n) for s, n in zip(starts, lengths, strict=True)
        ]
        z1, z2 = (encoder(v, mask="random", generator=generator) for v in views)
        overlap = min(plan.overlap_length, *lengths)
        loss = hierarchical_contrastive_loss(z1[:, -overlap:], z2[:, :overlap])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    start = time.perf_counter()
    step()
    first = time.perf_counter() - start
    start = time.perf_counter()
    step()
    step()
    next_two = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    row = {
        "mode": mode,
        "precision": precision,
        "first_step_s": first,
        "next_two_steps_s": next_two,
        "step_s": (time.perf_counter() - start) / repeats,
        "torch_threads": torch.get_num_threads(),
    }
    if mode == "eager":
        row["matrix_product_share"] = matrix_product_share(step)
    return row


def matrix_product_share(step, n_steps=3):
    """Share of the CPU time of ``n_steps`` steps spent in matrix products.

    From :mod:`torch.profiler`'s self times: the products (``mm``, ``addmm``,
    ``bmm``) against everything else (elementwise passes, copies, the
    optimizer).
    """
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(n_steps):
            step()
    events = profiler.key_averages()
    total = sum(event.self_cpu_time_total for event in events)
    products = sum(
        event.self_cpu_time_total
        for event in events
        if event.key in ("aten::mm", "aten::addmm", "aten::bmm")
    )
    return products / total


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(step_seconds(args.child)))
        return
    from speed import child_row, write_rows  # rows with the command and versions

    rows = []
    for mode in args.modes:
        row = child_row([sys.executable, __file__, "--child", mode])
        rows.append(row)
        print(
            f"{mode:8s} first step {row['first_step_s']:6.1f} s, next two "
            f"{row['next_two_steps_s']:5.2f} s, then {row['step_s']:.3f} s a step"
            + (
                f" ({row['matrix_product_share']:.0%} of it in matrix products)"
                if "matrix_product_share" in row
                else ""
            ),
            flush=True,
        )
    write_rows(args.out, rows)


if __name__ == "__main__":
    main()
