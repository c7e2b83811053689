"""The distributed benchmark: `jobmaster bench --distributed` (kept here as a shortcut).

    python benchmarks/distributed_bench.py [--jobs 100000] [--prefill] [--sync-ms 200]
"""

import sys

from jobmaster.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["bench", "--backend", "postgres", "--distributed", *sys.argv[1:]]))
