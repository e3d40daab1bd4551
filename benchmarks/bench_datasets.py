"""FER2013 load times: the first load (decode every image, write the cache) and cached loads.

    FERCOURSE_DATA=/path/to/data/home python benchmarks/bench_datasets.py [--repeat 3]

Uses a cache folder of its own, so the first load really decodes.
"""

import argparse
import statistics
import tempfile
import time

from machine import describe

from fercourse.datasets import fer2013_path, load_fer2013


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--path", help="FER2013 file or folder (default: found in the data home)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    path = args.path or fer2013_path()
    if path is None:
        raise SystemExit("FER2013 is not in the data home; set FERCOURSE_DATA or pass --path")
    print(f"machine: {describe()}")
    print(f"source:  {path}")
    with tempfile.TemporaryDirectory() as cache_dir:
        t = time.perf_counter()
        data = load_fer2013(path, cache_dir=cache_dir)
        first = time.perf_counter() - t
        cached = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            load_fer2013(path, cache_dir=cache_dir)
            cached.append(time.perf_counter() - t)
    n = len(data)
    print(f"first load (decode {n:,} images + write cache): {first:6.2f} s  ({n / first:,.0f} images/s)")
    print(f"cached load (median of {args.repeat}):            {statistics.median(cached):6.2f} s  "
          f"({n / statistics.median(cached):,.0f} images/s)")


if __name__ == "__main__":
    main()
