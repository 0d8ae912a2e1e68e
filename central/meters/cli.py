"""Command line: ``python -m central.meters serve|enter|state|list``.

* ``serve``: builds meters from central's meter records (new ones only; a restart keeps
  every meter's credit, TID memory and key) and answers on 127.0.0.1 (HTTP, see ``app``).
* ``enter DRN TOKEN``: types a token on a meter's keypad; prints the meter's answer.
  Works on the fleet's file directly, whether ``serve`` runs or not.
* ``state DRN`` / ``list``: what a meter shows / every meter's credit.

Exit codes: 0 done (token accepted), 1 refused (token refused, unknown meter), 2 usage.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError as SettingsError

from central.settings import CentralSettings
from central.sts.errors import StsError
from central.sts.vending_keys import VendingKeyRing
from kernel.cli import FrenchParser

from .fleet import DEFAULT_CONSUMPTION_W, Fleet, ReloadReport
from .meter import DEFAULT_TID_MEMORY
from .store import MeterStore, UnknownMeterError

PROG = "python -m central.meters"
DEFAULT_PORT = 8471
STORE_NAME = "meters.sqlite3"
log = logging.getLogger("central.meters")


def build_parser() -> argparse.ArgumentParser:
    parser = FrenchParser(prog=PROG, description="Parc de compteurs à prépaiement virtuels (STS).")
    parser.add_argument("--data-dir", type=Path,
                        help="dossier de données du central (défaut : celui du central)")
    parser.add_argument("--store", type=Path,
                        help=f"fichier du parc (défaut : DATA_DIR/{STORE_NAME})")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=FrenchParser)

    serve = commands.add_parser("serve", help="démarre le parc sur 127.0.0.1")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--database-url", help="base du central (défaut : celle du central)")
    keys = serve.add_mutually_exclusive_group()
    keys.add_argument("--vending-key-dir", type=Path,
                      help="dossier des clés de vente sgc<SGC>-krn<KRN>-dkga<NN>.key")
    keys.add_argument("--test-keys", action="store_true",
                      help="clés publiques des vecteurs de test (démonstration uniquement)")
    serve.add_argument("--tid-memory", type=int, default=DEFAULT_TID_MEMORY,
                       help="TID mémorisés par un nouveau compteur")
    serve.add_argument("--consumption-w", type=int, default=DEFAULT_CONSUMPTION_W,
                       help="consommation d'un nouveau compteur, en watts")
    serve.add_argument("--no-records", action="store_true",
                       help="ne pas lire les compteurs de la base du central")

    enter = commands.add_parser("enter", help="saisit un jeton au clavier d'un compteur")
    enter.add_argument("drn")
    enter.add_argument("token", nargs="+", help="20 chiffres (groupés ou non)")

    state = commands.add_parser("state", help="état d'un compteur")
    state.add_argument("drn")
    state.add_argument("--json", action="store_true")
    commands.add_parser("list", help="crédit de chaque compteur")
    return parser


def _settings(args: argparse.Namespace) -> CentralSettings:
    given: dict[str, Any] = {}
    if args.data_dir is not None:
        given["data_dir"] = args.data_dir
    if getattr(args, "database_url", None):
        given["database_url"] = args.database_url
    return CentralSettings(**given)


def _store(args: argparse.Namespace, settings: CentralSettings) -> MeterStore:
    return MeterStore(args.store or settings.data_dir / STORE_NAME)


def _serve(args: argparse.Namespace, settings: CentralSettings, fleet: Fleet) -> int:
    import uvicorn

    from .app import create_app

    reload = None
    if not args.no_records:
        if args.test_keys:
            ring = VendingKeyRing(test_keys=True)
        elif args.vending_key_dir is not None:
            ring = VendingKeyRing.from_directory(args.vending_key_dir)
        else:
            print(f"{PROG} serve : indiquer --vending-key-dir DOSSIER (ou --test-keys pour une "
                  "démonstration)", file=sys.stderr)
            return 2
        from app.models.database import Database

        from .records import prepaid_meter_records

        database = Database(settings.resolved_database_url)

        def reload() -> ReloadReport:
            report = fleet.load_records(prepaid_meter_records(database), ring)
            log.info("meter records loaded: %s", report.summary())
            return report

        print(f"Parc virtuel : {reload().summary()}", flush=True)
    app = create_app(fleet, reload)
    print(f"Parc virtuel sur http://{args.host}:{args.port} ({fleet.store.path})", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


def _print_state(state: dict[str, Any]) -> None:
    key = state["key"]
    print(f"Compteur {state['drn']} (PAN {state['pan']})")
    print(f"  crédit : {state['credit_kwh']} kWh, alimentation "
          f"{'en service' if state['connected'] else 'coupée'}, "
          f"consommation {state['consumption_w']} W")
    print(f"  clé : SGC {key['sgc']:06d}, TI {key['ti']:02d}, KRN {key['krn']}, KT {key['kt']}, "
          f"EA{key['ea']}, DKGA-{key['dkga']}, base {key['base_date']}"
          f"{' — changement de clé nécessaire' if key['key_change_needed'] else ''}")
    if state["key_change"]:
        print(f"  changement de clé en cours : {state['key_change']['received']}/"
              f"{state['key_change']['expected']} jetons reçus")
    memory = state["tid_memory"]
    print(f"  mémoire TID : {memory['used']}/{memory['size']}, dernier TID {memory['last_tid']}")
    for title, entries in (("derniers jetons", state["last_tokens"]),
                           ("refus", state["refusals"])):
        print(f"  {title} :")
        for entry in entries:
            print(f"    {entry['at']} {entry['token']} ({entry['source']}) {entry['message']}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        stream=sys.stderr)
    logging.getLogger("central.meters").setLevel(logging.WARNING)
    try:
        settings = _settings(args)
        fleet_args: dict[str, Any] = {}
        if args.command == "serve":
            logging.getLogger("central.meters").setLevel(logging.INFO)
            fleet_args = {"tid_memory": args.tid_memory, "consumption_w": args.consumption_w}
        fleet = Fleet(_store(args, settings), **fleet_args)
        if args.command == "serve":
            return _serve(args, settings, fleet)
        if args.command == "enter":
            answer = fleet.enter(args.drn, "".join(args.token), source="keypad")
            print(answer.message)
            print(f"Crédit : {answer.credit_kwh} kWh")
            return 0 if answer.accepted else 1
        if args.command == "state":
            state = fleet.state(args.drn)
            if args.json:
                print(json.dumps(state, indent=2, ensure_ascii=False))
            else:
                _print_state(state)
            return 0
        for row in fleet.summary():
            print(f"{row['drn']:>13}  {row['credit_kwh']:>12} kWh  "
                  f"{'en service' if row['connected'] else 'coupé'}")
        return 0
    except UnknownMeterError as error:
        print(str(error), file=sys.stderr)
        return 1
    except StsError as error:
        print(error.message_fr, file=sys.stderr)
        return 1
    except SettingsError as error:
        print(f"configuration invalide : {error.errors()[0]['msg']}", file=sys.stderr)
        return 2
