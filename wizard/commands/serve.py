"""`mailwright serve [--relay HOST:PORT] [--allow-remote]`: the headless background sender (+ loopback relay).

Headless on purpose: no Qt import, starts fast, and a SIGKILL at any moment loses nothing (the outbox
lease makes an interrupted send due again on the next start).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from wizard.commands.output import EXIT_OK, usage_error


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("serve", help="run the background sender (and optionally the loopback relay)")
    parser.add_argument("--relay", metavar="HOST:PORT", help="also accept mail over SMTP, e.g. 127.0.0.1:2525")
    parser.add_argument("--allow-remote", action="store_true",
                        help="allow a non-loopback relay address; refused until the relay has TLS and AUTH "
                        "settings (an open relay is never started)")
    parser.add_argument("--poll-s", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.set_defaults(handler=run)


def parse_host_port(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--relay expects HOST:PORT, e.g. 127.0.0.1:2525, not {text!r}.")
    return host.strip("[]"), int(port)


def run(args: argparse.Namespace) -> int:
    from wizard.services.config_cache import CachedConfigLoader
    from wizard.services.outbox import Outbox
    from wizard.services.relay import RelayConfigError, start_relay
    from wizard.services.sender import Sender

    try:
        relay_address = parse_host_port(args.relay) if args.relay else None
    except ValueError as exc:
        return usage_error(str(exc))

    async def serve() -> None:
        load_config = CachedConfigLoader()
        outbox = Outbox()
        sender = Sender(outbox, load_config)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        server = None
        if relay_address:
            server = await start_relay(outbox, load_config, *relay_address, allow_remote=args.allow_remote,
                                       on_queued=sender.wake)
            print(f"relay listening on {relay_address[0]}:{relay_address[1]}", flush=True)
        print("sender running", flush=True)
        try:
            await sender.run(stop, poll_s=args.poll_s)
        finally:
            if server is not None:
                server.close()
                await server.wait_closed()

    try:
        asyncio.run(serve())
    except RelayConfigError as exc:
        return usage_error(str(exc))
    return EXIT_OK
