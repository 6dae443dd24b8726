"""`mailwright secrets status [--json]`: which secret store this Mailwright uses, and where its key comes from."""

from __future__ import annotations

import argparse

from wizard.commands.output import EXIT_FAILED, EXIT_OK, add_json_option, emit_json


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("secrets", help="show which secret store is in use (keyring or service store)")
    parser.add_argument("action", choices=["status"], help="status: the store, its key source, what it holds")
    add_json_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from wizard.services import secrets
    from wizard.services.store_key import StoreKeyError, find_key_source

    ok, backend = secrets.keyring_available(), secrets.backend_name()
    service = backend.endswith("ServiceStoreKeyring")
    source = find_key_source()
    path, error = "", ""
    entries: dict[str, list[str]] = {}
    if service:
        from wizard.services.service_keyring import open_service_store
        from wizard.services.service_store import ServiceStoreError

        try:
            store = open_service_store()
            path, entries = str(store.path), store.names()
        except (StoreKeyError, ServiceStoreError) as exc:
            ok, error = False, str(exc)
    if args.json:
        emit_json({"ok": ok, "backend": backend, "store": "service" if service else "keyring",
                   "key_source": source.describe() if service and source else None, "path": path,
                   "entries": entries, "error": error})
    elif service:
        print(f"Secrets: the service store {path}, key from {source.describe() if source else 'nowhere'}")
        for owner, names in entries.items():
            print(f"  {owner}: {', '.join(names)}")
    else:
        print(f"Secrets: the system keyring ({backend})" + ("" if ok else " — not usable: nothing can be saved"))
    if error and not args.json:
        print(error)
    return EXIT_OK if ok else EXIT_FAILED
