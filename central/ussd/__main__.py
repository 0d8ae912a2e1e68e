"""``python -m central.ussd --operator moov --phone 0701020304``: the payer's phone in a
terminal, dialling the operator's USSD code; and ``python -m central.ussd wallet …``: the
operator's wallet service (``serve``), its payers (``payer add|show``), its statement."""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import httpx

from central.settings import default_data_dir

WALLET_PORT = 8473
SMS_PORT = 8472


def _data_dir() -> Path:
    return Path(os.environ.get("GUICHET_CENTRAL_DATA_DIR") or default_data_dir())


def _phone_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m central.ussd",
        description="Téléphone simulé : dialogue USSD de l'opérateur (achat d'électricité). "
        "« python -m central.ussd wallet --help » : le service de porte-monnaie de l'opérateur.")
    parser.add_argument("--operator", required=True, help="opérateur (ex. moov)")
    parser.add_argument("--phone", required=True, help="numéro du téléphone payeur")
    parser.add_argument("--wallet", default=f"http://127.0.0.1:{WALLET_PORT}",
                        help="service de l'opérateur (passerelle USSD)")
    parser.add_argument("--sms-gateway", default=f"http://127.0.0.1:{SMS_PORT}",
                        help="passerelle SMS de test où lire les SMS reçus (vide : aucune)")
    parser.add_argument("--sms-wait", type=float, default=20.0,
                        help="secondes d'attente du SMS après l'achat")
    return parser


def _wallet_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m central.ussd wallet",
                                     description="Porte-monnaie mobile simulé de l'opérateur")
    parser.add_argument("--operator", required=True)
    parser.add_argument("--data-dir", type=Path, default=_data_dir())
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="lancer le service (passerelle USSD)")
    serve.add_argument("--platform", required=True, help="URL du serveur central")
    serve.add_argument("--credential-file", type=Path, required=True,
                       help="identifiant d'opérateur (python -m central operator add)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=WALLET_PORT)
    serve.add_argument("--ussd-code", default="*155#", help="code USSD de l'achat d'électricité")
    serve.add_argument("--timeout", type=float, default=5.0,
                       help="secondes d'attente d'une réponse de la plateforme")
    payer = commands.add_parser("payer", help="payeurs")
    payer_commands = payer.add_subparsers(dest="payer_command", required=True)
    add = payer_commands.add_parser("add", help="créer (ou remplacer) un payeur")
    add.add_argument("phone")
    add.add_argument("--name", default="")
    add.add_argument("--pin", required=True)
    add.add_argument("--balance", type=int, required=True, help="solde (F)")
    payer_commands.add_parser("show", help="solde d'un payeur").add_argument("phone")
    statement = commands.add_parser("statement", help="relevé CSV des achats d'un jour")
    statement.add_argument("--date", type=date.fromisoformat, required=True)
    return parser


def wallet_main(argv: Sequence[str]) -> int:
    from central.ussd.wallet import WalletError, Wallets

    args = _wallet_parser().parse_args(argv)
    wallets = Wallets(args.data_dir / f"wallet-{args.operator}.sqlite3")
    if args.command == "serve":
        import uvicorn

        from central.ussd.dialogue import Dialogue, PlatformClient
        from central.ussd.server import create_app

        credential = args.credential_file.read_text(encoding="utf-8").strip()
        dialogue = Dialogue(args.operator, wallets,
                            PlatformClient(args.platform, credential, timeout=args.timeout),
                            code=args.ussd_code)
        print(f"Service {args.operator} sur http://{args.host}:{args.port}", flush=True)
        uvicorn.run(create_app(dialogue), host=args.host, port=args.port, log_level="warning")
        return 0
    if args.command == "payer":
        if args.payer_command == "add":
            try:
                found = wallets.add_payer(args.phone, args.name, args.pin, args.balance)
            except WalletError as error:
                print(error, file=sys.stderr)
                return 2
            print(f"Payeur {found.phone} : solde {found.balance} F")
            return 0
        payer = wallets.payer(args.phone)
        if payer is None:
            print(f"Payeur {args.phone} inconnu.", file=sys.stderr)
            return 1
        print(f"Payeur {payer.phone} {payer.name} : solde {payer.balance} F")
        return 0
    print("reference,amount,phone,at")
    for reference, amount, phone, at in wallets.statement(args.date):
        print(f"{reference},{amount},{phone},{at}")
    return 0


def _frame(text: str) -> str:
    width = max(len(line) for line in text.splitlines()) + 2
    bar = "+" + "-" * width + "+"
    return "\n".join([bar, *(f"| {line.ljust(width - 2)} |" for line in text.splitlines()), bar])


def _sms_seen(url: str, phone: str) -> list[dict[str, str]]:
    if not url:
        return []
    try:
        return list(httpx.get(f"{url.rstrip('/')}/messages", params={"to": phone},
                              timeout=5).json())
    except (httpx.HTTPError, ValueError):
        return []


def phone_main(argv: Sequence[str]) -> int:
    args = _phone_parser().parse_args(argv)
    session = uuid.uuid4().hex
    before = len(_sms_seen(args.sms_gateway, args.phone))
    print(f"Téléphone {args.phone} — réseau {args.operator.title()}. Composez le code USSD :")
    client = httpx.Client(base_url=args.wallet, timeout=60)
    sold = False
    while True:
        print("> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            print("\n(session interrompue)")
            return 1
        try:
            answer = client.post("/ussd", json={"session": session, "phone": args.phone,
                                                "input": line.strip()}).json()
        except httpx.HTTPError as error:
            print(f"Réseau indisponible ({type(error).__name__}).")
            return 1
        if line.strip() and not sys.stdin.isatty():
            print(line.strip())
        print(_frame(answer["text"]))
        if answer["end"]:
            sold = bool(answer.get("sold"))
            break
    if not sold or not args.sms_gateway:
        return 0 if sold else 1
    deadline = time.monotonic() + args.sms_wait
    while time.monotonic() < deadline:
        fresh = _sms_seen(args.sms_gateway, args.phone)[before:]
        if fresh:
            time.sleep(1.0)  # a sale with key change tokens may send a second message
            for message in _sms_seen(args.sms_gateway, args.phone)[before:]:
                print(f"[SMS reçu de {message['from']}] {message['text']}")
            return 0
        time.sleep(0.3)
    print("(aucun SMS reçu pour l'instant)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["wallet"]:
        return wallet_main(arguments[1:])
    return phone_main(arguments)


if __name__ == "__main__":
    sys.exit(main())
