"""systemd's notification protocol (sd_notify(3)): readiness, status and watchdog pings for `Type=notify`.

A datagram of `KEY=VALUE` lines to the AF_UNIX socket named by `$NOTIFY_SOCKET` (an abstract one when it starts
with `@`). Outside systemd the variable is absent and every call does nothing. `WATCHDOG_USEC` (set by
`WatchdogSec=`) is how long systemd waits between pings before it restarts the service; we ping at half that.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable


def notify(*lines: str) -> bool:
    """Send `lines` (e.g. "READY=1", "STATUS=…") to systemd; False when not running under it."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False
    target = "\0" + address[1:] if address.startswith("@") else address
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        # Never wait: this runs on the event loop, and a datagram socket whose reader lags (its queue holds
        # net.unix.max_dgram_qlen = 10 datagrams) would block the loop, the sender and shutdown with it.
        sock.setblocking(False)
        try:
            sock.sendto("\n".join(lines).encode(), target)
        except OSError:
            return False  # systemd gone (shutting down) or its queue full: nothing to tell now
    return True


def watchdog_interval_s() -> float | None:
    """Half the watchdog timeout systemd asked for, or None when there is no watchdog for this process."""
    usec, pid = os.environ.get("WATCHDOG_USEC", ""), os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


async def keep_watchdog_fed(healthy: Callable[[], bool]) -> None:
    """Ping systemd's watchdog while `healthy()` says the sender is alive; a stuck loop stops the pings."""
    interval = watchdog_interval_s()
    if interval is None:
        return
    while True:
        if healthy():
            notify("WATCHDOG=1")
        await asyncio.sleep(interval)
