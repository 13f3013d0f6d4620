"""Where the daemon's memory goes during a burst: tracemalloc's top allocation sites.

Runs the daemon in this process (on a thread), writes a burst of projects into its
watched folder, and prints the biggest allocation sites at the moment the last project
is written (the RSS peak of `bench.burst`).

    python -m bench.profile_memory [--count 5000]
"""

from __future__ import annotations

import argparse
import threading
import time
import tracemalloc

from bench.burst import burst_workload, recognised_kinds
from bench.common import remove, scratch, start_emulator, write_config
from watcher.config import load_config
from watcher.core.inputs import StopRequested
from watcher.daemon import Daemon


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    emulator = start_emulator()
    work = scratch("memory-")
    folder = (work / "Projects").resolve()
    folder.mkdir()
    config = load_config(write_config(work, emulator, [{"path": str(folder)}]))
    tracemalloc.start(8)
    daemon = Daemon(config)
    thread = threading.Thread(target=daemon.run, daemon=True)
    thread.start()
    time.sleep(1.5)
    before = tracemalloc.take_snapshot()
    burst_workload(args.count, recognised_kinds())(folder, emulator)
    time.sleep(1.0)
    after = tracemalloc.take_snapshot()
    current, peak = tracemalloc.get_traced_memory()
    print(f"traced now {current / 2**20:.1f} MiB, peak {peak / 2**20:.1f} MiB")
    for stat in after.compare_to(before, "traceback")[: args.top]:
        print(f"{stat.size_diff / 2**20:8.1f} MiB {stat.count_diff:8d} blocks")
        for line in stat.traceback.format()[-8:]:
            print("    " + line)
    daemon.inbox.put(StopRequested("SIGTERM"))
    thread.join(20)
    emulator.stop()
    remove(work)


if __name__ == "__main__":
    main()
