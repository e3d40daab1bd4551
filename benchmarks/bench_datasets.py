"""FER2013 load times: the first load (decode every image, write the cache), cached loads, and
what checking the cache against its manifest costs.

    FERCOURSE_DATA=/path/to/data/home python benchmarks/bench_datasets.py [--repeat 5]

Uses a cache folder of its own, so the first load really decodes.  A cached load reads every
``.npy`` file once and checks its checksum (``fercourse.datasets.cache``); the script times that
checksum alone on the same bytes, beside the other digests Python ships, so the choice can be
re-judged on another machine.  Figures are medians; the load average is printed with them,
because on a shared machine other processes slow every number down.
"""

import argparse
import hashlib
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import describe

from fercourse.datasets import cache, fer2013_path, load_fer2013

DIGESTS = {
    "zlib.crc32 (the cache's)": cache.checksum,
    "blake2b-128": lambda b: hashlib.blake2b(b, digest_size=16).digest(),
    "sha256": lambda b: hashlib.sha256(b).digest(),
    "sha1": lambda b: hashlib.sha1(b).digest(),
    "md5": lambda b: hashlib.md5(b).digest(),
}


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", help="FER2013 file or folder (default: found in the data home)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = args.path or fer2013_path()
    if path is None:
        raise SystemExit("FER2013 is not in the data home; set FERCOURSE_DATA or pass --path")
    print(f"machine: {describe()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"source:  {path}")
    with tempfile.TemporaryDirectory() as cache_dir:
        t = time.perf_counter()
        data = load_fer2013(path, cache_dir=cache_dir)
        first = time.perf_counter() - t
        cached = _median_time(lambda: load_fer2013(path, cache_dir=cache_dir), args.repeat)
        (folder,) = Path(cache_dir).glob("fer2013-*")
        files = sorted(folder.glob("*.npy"))
        unchecked = _median_time(lambda: [np.load(f) for f in files], args.repeat)
        blobs = [f.read_bytes() for f in files]
        size = sum(len(b) for b in blobs)
        digests = {name: _median_time(lambda: [fn(b) for b in blobs], args.repeat) for name, fn in DIGESTS.items()}
    n = len(data)
    print(f"first load (decode {n:,} images + write cache): {first:6.2f} s  ({n / first:,.0f} images/s)")
    print(f"cached load, checked (median of {args.repeat}):       {cached:6.3f} s  ({n / cached:,.0f} images/s)")
    print(f"the same files read unchecked (np.load):         {unchecked:6.3f} s")
    print(f"cache files: {', '.join(f.name for f in files)}: {size / 1e6:.1f} MB")
    ours = digests["zlib.crc32 (the cache's)"]
    print(f"checksum of the cache, in memory: {ours * 1000:.1f} ms = {ours / cached:.0%} of a cached load "
          f"({size / ours / 1e9:.2f} GB/s)")
    print("digests of the same bytes (median):")
    for name, seconds in digests.items():
        print(f"  {name:<26} {seconds * 1000:7.1f} ms  {size / seconds / 1e9:5.2f} GB/s")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
