"""The `sessiondock-watcher` command line.

Exit codes: 0 success; 2 bad usage (argparse); 78 invalid config (EX_CONFIG, so service
managers stop restarting); 1 something was not delivered; 69 SessionDock unreachable
(EX_UNAVAILABLE); 77 token rejected or Local API not in Full Automation (EX_NOPERM);
75 `run`/`scan`: another process owns the state database (EX_TEMPFAIL: a service
manager retrying later is right); 3 `status`: the daemon is not running. A damaged state
database is exit 1 from `status` and `scan --dry-run` (the daemon repairs it at start).
Expected faults print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from watcher import __version__

if TYPE_CHECKING:
    from watcher.config import Config
    from watcher.drysplit import Split

EXIT_CONFIG = 78
EXIT_NOT_RUNNING = 3
PROG = "sessiondock-watcher"


class _Version(argparse.Action):
    """argparse's own version action needs the string up front, and finding the
    installed version imports importlib.metadata (20 ms on every command)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any, **_kwargs: Any) -> None:
        print(f"{PROG} {version()}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Watch studio folders and import every new or changed DAW project "
        "into SessionDock.",
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument("--config", metavar="PATH", help="config file (default: see README)")
        return sub

    command("run", "watch and import until stopped (SIGTERM/SIGINT); SIGHUP reloads")
    scan = command("scan", "one pass over every watched folder; import what is new or changed")
    scan.add_argument("--dry-run", action="store_true", help="send nothing; print JSON lines")
    scan.add_argument(
        "--explain", action="store_true", help="with --dry-run, also list skipped files and why"
    )
    command("check", "validate the config and ask SessionDock whether imports can go through")
    status = command("status", "what is pending, in flight, imported and rejected")
    status.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    service = command("service", "start at login on this OS (systemd, launchd, Task Scheduler)")
    service.add_argument("action", choices=["install", "uninstall", "status"])
    service.add_argument(
        "--print", action="store_true", dest="print_only", help="show what would be written"
    )
    service.add_argument(
        "--platform",
        choices=["linux", "macos", "windows"],
        help="with install --print: show another OS's file (default: this OS)",
    )
    init = command("init", "write a starter config and store the token (0600)")
    init.add_argument(
        "--watch", action="append", default=[], metavar="DIR", help="a folder to watch (repeat)"
    )
    token_source = init.add_mutually_exclusive_group()
    token_source.add_argument(
        "--token-stdin", action="store_true", help="read the token from standard input"
    )
    token_source.add_argument("--token-file", metavar="PATH", help="copy the token from a file")
    init.add_argument("--base-url", metavar="URL", help="SessionDock's Local API URL")
    init.add_argument("--force", action="store_true", help="replace an existing config")
    return parser


def version() -> str:
    """The installed distribution's version (what pip installed), else the package's own."""
    import importlib.metadata  # 20 ms: only for --version and status

    try:
        return importlib.metadata.version(PROG)
    except importlib.metadata.PackageNotFoundError:  # run from a clone without installing
        return __version__


def _fail(message: str, code: int) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    split = None
    if args.command == "scan" and args.dry_run:
        from watcher.drysplit import Split, preload

        preload()  # what both processes walk with: imported once, before the fork
        split = Split.fork()  # the helper imports pydantic while the lead walks
        if split is not None and split.lead:
            done = _light_dry_run(args.config, args.explain, split)
            if done is not None:
                return _exit_now(done)
            if split.closed:  # the helper saw another config: the normal path, alone
                split = None
    from watcher.config import ConfigError, find_config_path, load_config
    from watcher.daws import Registry
    from watcher.owner import EXIT_LOCKED, LockHeld
    from watcher.state_faults import StateError

    try:
        config_path = find_config_path(args.config)
        if args.command == "service":
            from watcher import service

            return service.run(
                args.action,
                config_path=config_path,
                print_only=args.print_only,
                platform=args.platform,
            )
        if args.command == "init":
            from watcher.starter import run_init

            return run_init(
                config_path,
                args.watch,
                token_stdin=args.token_stdin,
                token_file=args.token_file,
                force=args.force,
                base_url=args.base_url,
            )
        config = load_config(config_path)
        Registry.configured(config.kinds, config.source)
        if split is not None and not split.lead:
            from watcher.dryconfig import view

            split.report(view(config))  # the lead compares it with its own reading
        if args.command == "scan" and args.dry_run:
            code = dry_run(config, explain=args.explain, split=split)  # JSON, logs nothing
            return _exit_now(code) if split is not None else code
        from watcher import logging as watcher_logging  # structlog: not on the dry-run path

        watcher_logging.configure(config.log.level, config.log.format, config.log.file_path())
        if args.command == "run":
            from watcher.daemon import Daemon  # httpx and watchdog: only where they are used

            return Daemon(config).run()
        if args.command == "scan":
            from watcher import console

            return console.scan(config)
        if args.command == "check":
            return check(config)
        if args.command == "status":
            return status(config, as_json=args.json)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_CONFIG)
    except LockHeld as exc:
        return _fail(f"{exc}; {exc.advice}", EXIT_LOCKED)
    except StateError as exc:
        return _fail(f"{exc}; {exc.advice}", 1)
    except _database_error() as exc:  # a damaged page quick_check did not reach
        return _fail(
            f"the state database is damaged ({exc}): the daemon moves it aside and rebuilds "
            "it at its next start; restart it",
            1,
        )
    except KeyboardInterrupt:
        return 130
    return 2


def _database_error() -> type[Exception]:
    """sqlite3's error class, imported only once an exception got this far (an
    `except` names its class when an exception reaches it): 5 ms off every dry run."""
    import sqlite3

    return sqlite3.DatabaseError


def _print_json(obj: dict[str, Any]) -> None:
    """One JSON line, always valid UTF-8: a non-UTF-8 file name is shown escaped."""
    from watcher.names import printable_value

    print(json.dumps(printable_value(obj), ensure_ascii=False), flush=True)


def dry_run(config: Config, explain: bool = False, split: Split | None = None) -> int:
    """`scan --dry-run` (watcher/dryrun.py)."""
    from watcher import dryrun

    return dryrun.dry_run(config, explain, split) or 0


def _exit_now(code: int) -> int:
    """A split dry run's processes end here, without the interpreter's teardown of
    every module (tens of ms, a tenth of a dry run); the helper, a forked child, must
    not run the parent's exit handlers anyway. Nothing is left to write but stdout."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _light_dry_run(explicit: str | None, explain: bool, split: Split) -> int | None:
    """The lead of a split dry run, on its own reading of the config (no pydantic:
    watcher/dryconfig.py), confirmed by the helper's validated one before anything is
    printed. None when it could not be used (nothing printed): the normal path runs,
    with the helper, or alone where the helper was stopped (`split.closed`)."""
    from watcher import dryconfig, dryrun
    from watcher.places import ConfigError, find_config_path

    try:
        light = dryconfig.load(find_config_path(explicit))
    except ConfigError:
        light = None
    if light is None or light.state.database().exists():  # relinks need the real config
        return None
    config = cast("Config", light)  # duck-typed: the attributes a dry run reads
    return dryrun.dry_run(config, explain, split, confirm=dryconfig.view(light))


def check(config: Config) -> int:
    """The doctor (watcher/doctor.py): one line per check; exit 0 only when ready."""
    from watcher import doctor

    return doctor.check(config)


def status(config: Config, as_json: bool = False) -> int:
    """Read the state without disturbing a running daemon (a read-only connection)."""
    from watcher.names import printable_value
    from watcher.state import State, StateError
    from watcher.status import print_status, status_report

    database = config.state.database()
    if not database.exists():
        message = f"no state yet at {database}: the daemon has not run with this config"
        if as_json:
            _print_json({"running": False, "state": str(database), "message": message})
        else:
            print(message)
        return EXIT_NOT_RUNNING
    import sqlite3

    try:
        state = State(database, readonly=True)
        try:
            report = printable_value(status_report(state, config))
        except sqlite3.Error as exc:
            raise (state.error(exc) or StateError(f"cannot read {database}: {exc}")) from None
        finally:
            state.close()
    except StateError as exc:
        if as_json:
            _print_json(
                {"running": None, "state": str(database), "error": str(exc), "advice": exc.advice}
            )
        else:
            print(f"{PROG}: {exc}; {exc.advice}", file=sys.stderr)
        return 1
    if as_json:
        _print_json(report)
    else:
        print_status(report)
    return 0 if report["running"] else EXIT_NOT_RUNNING
