"""Data-parallel training benchmark: one process against several, same cores.

Fits ``TSCCClusterer`` (default architecture) on ``make_microseismic`` windows
in each of these set-ups, one fresh process (group) each, in the order given
and ``--repeats`` times interleaved:

* ``1x2``: one process with two threads (a plain fit);
* ``2x1``: two processes with one thread each, launched with
  ``torch.distributed.run --standalone`` (gloo on this machine), sharing
  ``--batch-size`` series per step (the global batch; before tscc 0.4.1 each
  process took ``--batch-size``).

It reports the seconds per pretraining and fine-tuning epoch, the whole fit,
the NMI and ACC against the hidden labels, and, for the distributed set-ups,
the communication of a step: an all-reduce of one gradient's size (what
DistributedDataParallel sends per step) and the small all-reduce with which
the ranks agree to go on, each the median of 50.

Run:  python examples/benchmarks/distributed.py                 (4928 x 500)
      python examples/benchmarks/distributed.py --quick         (smoke run)
      python examples/benchmarks/distributed.py --out results/distributed.json
      python examples/benchmarks/distributed.py --device cuda   (a GPU per process)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist

from tscc import TSCCClusterer
from tscc.distributed import current_ranks
from tscc.metrics import clustering_scores
from tscc.synthetic import make_microseismic

SETUPS = {"1x2": (1, 2), "2x1": (2, 1)}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", default="4928x500", help="N x T of the data set")
    parser.add_argument("--setups", nargs="+", default=list(SETUPS), choices=SETUPS)
    parser.add_argument("--pretrain-epochs", type=int, default=4)
    parser.add_argument("--finetune-epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--device", default="cpu", help='"cuda": one GPU per process, NCCL'
    )
    parser.add_argument("--quick", action="store_true", help="400 x 128, 1+1 epochs")
    parser.add_argument("--out", help="JSON file for the results")
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # JSON file to write
    parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.pretrain_epochs, args.finetune_epochs = "400x128", 1, 1
    return args


def worker(args):
    """One fit in this process (group); rank 0 writes its measurements."""
    torch.set_num_threads(args.threads)
    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("nccl" if args.device.startswith("cuda") else "gloo")
    ranks = current_ranks()
    n, t = (int(v) for v in args.size.split("x"))
    X, y = make_microseismic(n, t, random_state=args.seed)
    model = TSCCClusterer(
        pretrain_epochs=args.pretrain_epochs,
        finetune_epochs=args.finetune_epochs,
        batch_size=args.batch_size,
        center_update_interval=max(1, args.finetune_epochs // 2),
        device=args.device,
        random_state=args.seed,
    )
    start = time.perf_counter()
    model.fit(X)
    seconds = time.perf_counter() - start
    record = {
        "processes": ranks.size,
        "threads": args.threads,
        "fit_seconds": seconds,
        **{
            f"{phase}_epoch_seconds": [
                h["seconds"] for h in model.history_ if h["phase"] == phase
            ]
            for phase in ("pretrain", "finetune")
        },
        **clustering_scores(y, model.labels_),
    }
    if distributed:
        record.update(communication(model.encoder_))
        dist.destroy_process_group()
    if ranks.rank == 0:
        with open(args.worker, "w") as file:
            json.dump(record, file)


def communication(encoder, repeats=50):
    """Median seconds of a gradient-sized all-reduce and of the agreement flags."""
    device = next(encoder.parameters()).device
    n_parameters = sum(p.numel() for p in encoder.parameters())
    results = {"gradient_mib": n_parameters * 4 / 2**20}
    for name, tensor in (
        ("gradient_allreduce_seconds", torch.ones(n_parameters, device=device)),
        (
            "agreement_allreduce_seconds",
            torch.zeros(2, dtype=torch.int32, device=device),
        ),
    ):
        times = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(tensor)
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)
        results[name] = float(np.median(times))
    return results


def run_setup(name, args):
    processes, threads = SETUPS[name]
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "record.json")
        options = [
            __file__,
            "--worker", out,
            "--threads", str(threads),
            "--size", args.size,
            "--pretrain-epochs", str(args.pretrain_epochs),
            "--finetune-epochs", str(args.finetune_epochs),
            "--batch-size", str(args.batch_size),
            "--seed", str(args.seed),
            "--device", args.device,
        ]  # fmt: skip
        if processes == 1:
            command = [sys.executable, *options]
        else:
            command = [
                sys.executable, "-m", "torch.distributed.run", "--standalone",
                f"--nproc-per-node={processes}", *options,
            ]  # fmt: skip
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        subprocess.run(command, check=True, env=env)
        with open(out) as file:
            return {"setup": name, **json.load(file)}


def report(records):
    print(
        f"{'setup':>6} {'pretrain s/epoch':>17} {'finetune s/epoch':>17} "
        f"{'fit s':>8} {'NMI':>6} {'ACC':>6} {'grad all-reduce ms':>19}"
    )
    for r in records:
        comm = r.get("gradient_allreduce_seconds")
        print(
            f"{r['setup']:>6} {np.mean(r['pretrain_epoch_seconds']):17.1f} "
            f"{np.mean(r['finetune_epoch_seconds'] or [np.nan]):17.1f} "
            f"{r['fit_seconds']:8.1f} {r['nmi']:6.3f} {r['acc']:6.3f} "
            f"{'-' if comm is None else f'{comm * 1e3:.2f}':>19}"
        )


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    records = [
        run_setup(name, args) for _ in range(args.repeats) for name in args.setups
    ]
    report(records)
    if args.out:
        import tscc

        meta = {
            "command": " ".join(["python", *sys.argv]),
            "tscc_version": tscc.__version__,
            "torch_version": torch.__version__,
        }
        with open(args.out, "w") as file:
            json.dump(
                {"meta": meta, "settings": vars(args), "records": records},
                file,
                indent=1,
            )


if __name__ == "__main__":
    main()
