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
import platform
import subprocess
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
    return {
        "mode": mode,
        "precision": precision,
        "first_step_s": first,
        "next_two_steps_s": next_two,
        "step_s": (time.perf_counter() - start) / repeats,
        "torch_threads": torch.get_num_threads(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(step_seconds(args.child)))
        return
    rows = []
    for mode in args.modes:
        run = subprocess.run(
            [sys.executable, __file__, "--child", mode],
            check=True,
            capture_output=True,
            text=True,
        )
        row = json.loads(run.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{mode:8s} first step {row['first_step_s']:6.1f} s, next two "
            f"{row['next_two_steps_s']:5.2f} s, then {row['step_s']:.3f} s a step",
            flush=True,
        )
    if args.out is not None:
        import tscc

        meta = {
            "command": " ".join(["python", *sys.argv]),
            "tscc_version": tscc.__version__,
            "torch_version": torch.__version__,
            "torch_threads": rows[0]["torch_threads"],
            "machine": platform.processor() or platform.machine(),
        }
        args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
