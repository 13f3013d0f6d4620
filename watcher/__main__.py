"""`python -m watcher`: the same as the `sessiondock-watcher` command."""

from watcher.cli import main

raise SystemExit(main())
