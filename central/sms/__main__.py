"""``python -m central.sms serve`` (the local test gateway) and ``inbox PHONE``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from central.settings import default_data_dir

DEFAULT_PORT = 8472


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m central.sms",
                                     description="Passerelle SMS de test (127.0.0.1)")
    parser.add_argument("--data-dir", type=Path,
                        default=Path(os.environ.get("GUICHET_CENTRAL_DATA_DIR")
                                     or default_data_dir()),
                        help="dossier du fichier des messages (sms-inbox.sqlite3)")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="lancer la passerelle de test")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--user", default="", help="identifiant HTTP exigé (vide : aucun)")
    serve.add_argument("--password", default="")
    inbox = commands.add_parser("inbox", help="messages reçus par un numéro")
    inbox.add_argument("phone")
    inbox.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from central.sms.testgateway import Inbox, create_app

    store = Inbox(args.data_dir / "sms-inbox.sqlite3")
    if args.command == "serve":
        import uvicorn

        print(f"Passerelle SMS de test sur http://{args.host}:{args.port}/messages "
              f"(messages dans {store.path})", flush=True)
        uvicorn.run(create_app(store, user=args.user, password=args.password),
                    host=args.host, port=args.port, log_level="warning")
        return 0
    messages = store.to(args.phone)
    if args.json:
        print(json.dumps(messages, ensure_ascii=False, indent=2))
        return 0
    if not messages:
        print(f"Aucun SMS pour le {args.phone}.")
        return 1
    for message in messages:
        print(f"[{message['at']}] de {message['from'] or '?'} : {message['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
