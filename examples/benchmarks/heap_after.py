"""Memory a program keeps after tscc returns: does tscc leave the heap as it found it?

Each case runs in a fresh process: optionally a small tscc ``fit`` + ``predict``,
then the caller's own work, which allocates 200 MB in 100 KiB NumPy blocks and
frees them all. The report is how much of that the process still holds
(resident memory after the free minus before the allocation) and how much the
process holds in all once its work is done, with the process's own malloc
settings and with ``MALLOC_TRIM_THRESHOLD_=65536`` (what
Dask's nanny sets in every worker).

    python examples/benchmarks/heap_after.py

``--case`` runs one case in this process (used by the script itself).
"""

import argparse
import os
import subprocess
import sys

import numpy as np

BLOCK_BYTES = 100 * 1024
TOTAL_BYTES = 200 * 10**6


def status_mb(field):
    """A memory field of this process's ``/proc/self/status``, in MB (Linux).

    ``"VmRSS"`` is the resident set size now, ``"VmHWM"`` its peak.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} in /proc/self/status")


def resident_mb():
    """Resident set size of this process, in MB (Linux)."""
    return status_mb("VmRSS")


def run_case(with_tscc):
    """Run one case here; return the MB the caller's freed blocks left resident
    and the MB the process holds at the end."""
    if with_tscc:
        from tscc import TSCCClusterer, make_microseismic

        X, _ = make_microseismic(n_samples=256, n_timestamps=500, random_state=0)
        clusterer = TSCCClusterer(
            pretrain_epochs=1, finetune_epochs=1, random_state=0, device="cpu"
        ).fit(X)
        clusterer.predict(X[:10])
    before = resident_mb()
    blocks = [np.ones(BLOCK_BYTES // 8) for _ in range(TOTAL_BYTES // BLOCK_BYTES)]
    del blocks
    after = resident_mb()
    return after - before, after


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=["plain", "tscc"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        kept, held = run_case(args.case == "tscc")
        print(f"{kept:.1f} MB kept, {held:.0f} MB held")
        return
    print("| caller's malloc settings | without tscc | after tscc fit + predict |")
    print("|---|---|---|")
    for label, extra in (
        ("as the process starts", {}),
        ("MALLOC_TRIM_THRESHOLD_=65536", {"MALLOC_TRIM_THRESHOLD_": "65536"}),
    ):
        env = {**os.environ, **extra}
        kept = [
            subprocess.run(
                [sys.executable, __file__, "--case", case],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
            for case in ("plain", "tscc")
        ]
        print(f"| {label} | {kept[0]} | {kept[1]} |")


if __name__ == "__main__":
    main()
