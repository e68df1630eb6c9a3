"""Throughput and peak memory of ``write_windows`` as an archive grows.

Writes a synthetic SDS-style archive (one station, Z/N/E, one miniSEED file
per channel per day, STEIM2, ``--rate`` Hz, ``--hours`` hours of data per
file) once into ``--data-dir``, then for each ``--days`` value runs
``write_windows`` over the first that many days in a fresh subprocess and
reports windows/s and the subprocess's peak resident memory (``VmHWM`` of
``/proc/self/status``, Linux). Peak memory should not grow with the number of
files: it is bounded by one group (a station-day) per job.

    python examples/benchmarks/scale_windows.py --days 3 13
    python examples/benchmarks/scale_windows.py --days 3 13 --hours 1 --jobs 2
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

WORKER = r"""
import json, sys, time
from tscc.io import write_windows
args = json.loads(sys.argv[1])
start = time.perf_counter()
summary = write_windows(args["files"], args["store"], window=args["window"],
                        channels="ENZ", n_jobs=args["jobs"])
seconds = time.perf_counter() - start
status = open("/proc/self/status").read()
hwm = int(next(line for line in status.splitlines()
               if line.startswith("VmHWM")).split()[1]) / 1024
print(json.dumps({"windows": summary.n_windows, "groups": summary.n_groups,
                  "seconds": seconds, "peak_mb": hwm}))
"""


def make_archive(root, days, hours, rate):
    """Day files XX.STA..HH?.D.2020.DDD under ``root``; existing ones are kept."""
    import obspy

    root.mkdir(parents=True, exist_ok=True)
    n = int(hours * 3600 * rate)
    files = []
    for day in range(days):
        for c, component in enumerate("ENZ"):
            path = root / f"XX.STA..HH{component}.D.2020.{day + 1:03d}"
            files.append(str(path))
            if path.exists():
                continue
            rng = np.random.default_rng(100 * day + c)
            # smooth, seismic-like counts that STEIM2 compresses as it would
            data = np.cumsum(rng.integers(-50, 51, size=n)).astype(np.int32)
            data -= np.int32(np.mean(data))
            trace = obspy.Trace(
                data,
                header={
                    "network": "XX",
                    "station": "STA",
                    "channel": f"HH{component}",
                    "sampling_rate": rate,
                    "starttime": obspy.UTCDateTime(2020, 1, 1) + 86400 * day,
                },
            )
            trace.write(str(path), format="MSEED", encoding="STEIM2")
    return files


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, nargs="+", default=[3, 13])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "tscc-scale-windows",
    )
    args = parser.parse_args(argv)
    archive = args.data_dir / f"h{args.hours:g}-r{args.rate:g}"
    start = time.perf_counter()
    files = make_archive(archive, max(args.days), args.hours, args.rate)
    print(f"archive: {archive} ({time.perf_counter() - start:.0f} s to make)")
    size = sum(os.path.getsize(name) for name in files)
    print(
        f"{len(files)} files, {size / 1e6:.0f} MB; {args.hours:g} h per file at "
        f"{args.rate:g} Hz; windows of {args.window:g} s, channels ENZ, "
        f"n_jobs={args.jobs}"
    )
    print(
        f"{'files':>6}{'windows':>10}{'groups':>8}{'s':>8}{'windows/s':>11}"
        f"{'peak MB':>9}"
    )
    for days in args.days:
        store = archive.parent / f"store-{days}.zarr"
        shutil.rmtree(store, ignore_errors=True)
        task = {
            "files": files[: 3 * days],
            "store": str(store),
            "window": args.window,
            "jobs": args.jobs,
        }
        out = subprocess.run(
            [sys.executable, "-c", WORKER, json.dumps(task)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        result = json.loads(out.strip().splitlines()[-1])
        print(
            f"{3 * days:6d}{result['windows']:10d}{result['groups']:8d}"
            f"{result['seconds']:8.1f}{result['windows'] / result['seconds']:11.0f}"
            f"{result['peak_mb']:9.0f}"
        )
        shutil.rmtree(store, ignore_errors=True)


if __name__ == "__main__":
    main()
