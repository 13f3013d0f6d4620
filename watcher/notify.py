"""systemd's sd_notify protocol: READY, STATUS, WATCHDOG and STOPPING, as datagrams.

It is one datagram to the socket named in `$NOTIFY_SOCKET` (a path, or `@name` for an
abstract socket), so no library is needed. Without that variable (launchd, Task
Scheduler, a terminal) every call is a no-op.
"""

from __future__ import annotations

import os
import socket

NOTIFY_SOCKET_ENV = "NOTIFY_SOCKET"


def notify(*fields: str) -> bool:
    """Send `KEY=value` lines to the service manager; False when there is none."""
    address = os.environ.get(NOTIFY_SOCKET_ENV, "")
    if not address or not hasattr(socket, "AF_UNIX"):
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            # Never wait: a manager that stopped reading fills its queue, and a blocking
            # send would then hang the loop that pings it. A ping that finds the queue
            # full is dropped; the queue holds enough of them.
            sock.setblocking(False)
            sock.connect(address)
            sock.send("\n".join(fields).encode())
    except OSError:
        return False  # the manager went away or is not reading; nothing to do about it
    return True


def watchdog_period() -> float | None:
    """Half of `WatchdogSec`, as systemd advises pinging, or None when it is off.

    `$WATCHDOG_PID`, when set, names the process meant to ping; another process (a
    child, a test harness) must not take the pings for itself.
    """
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1e6 / 2
