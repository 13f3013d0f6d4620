"""sessiondock-watcher: imports every new or changed DAW project into SessionDock."""

__version__ = "0.1.0"
