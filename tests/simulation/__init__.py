"""A deterministic simulator for the daemon's pure core (`watcher.core`).

    python -m tests.simulation --seeds 300 --first 1      # from the repository root
    python -m tests.simulation --seeds 1 --first 4711 --trace 400   # one seed, more trace

For each seed, `random.Random(seed)` builds a world (world.py, faults.py): two watched
folders, projects of every DAW kind (single files and `.logicx`/`.band` bundles, with
real bytes from content.py) created, saved in one go or slowly in pieces, renamed,
moved (files, project folders, client folders, across watched folders, into `Done/`;
moves undone; to the trash and back: more.py), copied and duplicated, deleted,
interrupted copies, junk, Audacity projects held open; folders going offline;
SessionDock (server.py) down, answering 401 (a regenerated token, or one that clears
by itself), read-only, 5xx, timing out or resetting after it acted, slow, `done: false`,
refusing one poisoned item with 400; the token file vanishing; observers dying or
overflowing; SIGTERM, SIGHUP, disk-full persists, crashes at any effect (before or
after a persist or a send) and restarts from exactly what was persisted; a wall clock
that steps. The clock jumps from one due thing to the next, so hours take milliseconds.

The sim shell (shell.py) drives the REAL core (`Core.restore`, `handle`, `next_wakeup`)
and carries out its effects against an in-memory disk (fs.py), using the real
`Registry.classify` and content checks (disk.py). Events are delivered late, sometimes
lost; stat, probe and walk answers arrive late and out of order.

After the world goes quiet (SessionDock healthy, folders online), the run continues to
quiescence and the invariants in invariants.py are checked (some during the run, at
the moment an effect is carried out). A failing seed prints its violations and the
last steps of its trace (trace.py); the same seed always reruns identically. The last
line is `simulation: N seeds, V violations` (V counts violations; a seed stops at its
first violation during the run), and the exit status is 1 when V > 0.

The end check includes issue 12's "one session per project identity, at its current
path" (`invariants.ONE_SESSION_PER_IDENTITY`, on by default; `--loose-identity` turns it
off), with the exceptions the README documents as by design (see `Checker.at_end`).
"""
