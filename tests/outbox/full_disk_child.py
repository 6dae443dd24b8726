"""Run by test_sender_boundary under `unshare -rm`: a real full disk (a 2 MB tmpfs) under the outbox.

Mounts the tmpfs on argv[1] (private to this process's mount namespace), queues three messages, fills the
disk, runs a sender round, frees the space, runs another round, and prints what it saw as one JSON line.
"""

from __future__ import annotations

import asyncio
import errno
import json
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[2]))

from tests.fixtures.smtp_servers import ClosingController, SinkHandler, free_port
from wizard.services.config import Config
from wizard.services.model import Profile, Security
from wizard.services.outbox import MessageState, Outbox
from wizard.services.sender import Sender
from wizard.services.sender_boundary import OUTBOX


def fill(folder: Path) -> Path:
    """Write until the file system says ENOSPC, down to the last byte."""
    filler = folder / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1 << 12, 1 << 8, 1):
            while True:
                try:
                    os.write(fd, b"\0" * size)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    finally:
        os.close(fd)
    return filler


async def main(mount_point: Path) -> dict[str, object]:
    handler = SinkHandler()
    controller = ClosingController(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=5.0,
                                   server_hostname="mx.test", auth_require_tls=False)
    controller.start()
    try:
        profile = Profile(name="main", from_address="app@example.com", host="127.0.0.1", port=controller.port,
                          security=Security.NONE, allow_plaintext_loopback=True)
        config = Config(profiles={"main": profile})
        outbox = Outbox(mount_point / "outbox.sqlite3")
        for number in range(3):
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = "app@example.com", "bob@example.net", f"n{number}"
            mail.set_content("numbers")
            outbox.enqueue(mail, profile="main")
        with outbox._connect() as connection:  # an empty WAL: the next write needs new disk space
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        filler = fill(mount_point)
        sender = Sender(outbox, lambda: config, storage_wait_s=0.0)

        def seen() -> dict[str, object]:
            problem = sender.problem_diagnoses.get(OUTBOX)
            return {"problem": problem.code if problem else None, "received": len(handler.messages),
                    "sent": sum(1 for m in outbox.messages() if m.state is MessageState.SENT)}

        await sender.run_round()
        await sender.run_round()  # still full: the sender is alive and says so again, quietly
        while_full = seen()
        filler.unlink()
        await sender.run_round()
        return {"while_full": while_full, "after": seen()}
    finally:
        controller.stop(no_assert=True)


if __name__ == "__main__":
    tiny = Path(sys.argv[1])
    # The mount lives in this process's private mount namespace and disappears with it.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(tiny)], check=True)
    print(json.dumps(asyncio.run(main(tiny))))
