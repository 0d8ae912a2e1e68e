"""Command line: ``python -m central.sts issue|key-change|decode``.

Tokens go to stdout, one per line, the token always being the last line; details asked for
with ``--verbose`` go to stderr. Every error is one line on stderr, in French: exit 2 for a
usage error, 1 for a domain error (bad check digit, amount too large, key expired ...).

``issue`` never hands out a TID twice for a meter: the last TID given to each meter (per base
date) is kept in a small state file (``--tid-file``, ``GUICHET_STS_TID_FILE``, default
``sts-tid.json`` in the user data folder), and ``--last-tid`` gives the meter's own last TID
when the records are elsewhere. A token issued in the same minute as the previous one for the
same meter takes the next minute.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kernel.cli import FrenchParser

from .errors import StsError
from .key_change import key_change_set
from .keys import KeySource
from .profile import MeterKeyProfile
from .tid import BaseDate, TidAllocator, base_date, to_utc
from .tokens import TokenIssuer, issue_test_token
from .vending_keys import DecoderKey, VendingKey

PROG = "python -m central.sts"


class UsageError(Exception):
    """A command line that is well-formed for argparse but incomplete or contradictory."""



class _Parser(FrenchParser):
    who = "sts"
    prog_in_hint = True


def _parse_int(text: str) -> int:
    """Decimal (leading zeros allowed, as in TI 01) or 0x-prefixed hexadecimal."""
    cleaned = text.strip().lower()
    return int(cleaned, 0) if cleaned.startswith("0x") else int(cleaned, 10)


def _int(text: str) -> int:
    try:
        return _parse_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » n'est pas un entier") from None


def _moment(text: str) -> datetime:
    try:
        return to_utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"« {text} » n'est pas une date et heure ISO (ex. 2004-03-01T13:55)"
        ) from None


def current_base_date(now: datetime | None = None) -> BaseDate:
    """The most recent base date already started: 2014 from 2014 to 2034, then 2035."""
    moment = to_utc(now or datetime.now(UTC))
    return max(base for base in BaseDate if base.start <= moment)


def default_tid_file() -> Path:
    configured = os.environ.get("GUICHET_STS_TID_FILE", "").strip()
    if configured:
        return Path(configured)
    from platformdirs import user_data_dir

    return Path(user_data_dir("Guichet", appauthor=False)) / "sts-tid.json"


class TidStateError(Exception):
    """The TID state file cannot be read or written: no token is issued without it."""


class TidState:
    """The last TID given to each meter (per base date), in a JSON file locked while a token
    is issued, so two ``issue`` at once for one meter still get two TIDs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: Any = None
        self._tids: dict[str, int] = {}

    @staticmethod
    def _key(pan: str, base: BaseDate) -> str:
        return f"{pan}@{int(base)}"

    def __enter__(self) -> TidState:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115
            if sys.platform != "win32":
                import fcntl

                fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX)
            self._handle.seek(0)
            text = self._handle.read()
            found = json.loads(text) if text.strip() else {}
        except (OSError, ValueError) as error:
            self.__exit__()
            raise TidStateError(f"fichier des derniers TID illisible ({self.path}) : {error}"
                                ) from None
        self._tids = {str(k): int(v) for k, v in found.items()} if isinstance(found, dict) else {}
        return self

    def last(self, pan: str, base: BaseDate) -> int | None:
        return self._tids.get(self._key(pan, base))

    def record(self, pan: str, base: BaseDate, tid: int) -> None:
        self._tids[self._key(pan, base)] = max(tid, self._tids.get(self._key(pan, base), -1))
        try:
            self._handle.seek(0)
            self._handle.truncate()
            self._handle.write(json.dumps(self._tids, indent=1, sort_keys=True) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as error:
            raise TidStateError(f"fichier des derniers TID non écrit ({self.path}) : {error} ; "
                                "jeton non délivré") from None

    def __exit__(self, *_exc: object) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _add_key_options(parser: argparse.ArgumentParser) -> None:
    keys = parser.add_argument_group("clé du compteur")
    source = keys.add_mutually_exclusive_group()
    source.add_argument("--vending-key", metavar="HEX", help="clé de vente en hexadécimal "
                        "(ESSAIS : visible dans la liste des processus ; préférez "
                        "--vending-key-file)")
    source.add_argument("--vending-key-file", metavar="FICHIER",
                        help="fichier de la clé de vente (droits 600)")
    source.add_argument("--vending-key-env", metavar="NOM",
                        help="variable d'environnement contenant la clé de vente")
    source.add_argument("--decoder-key", metavar="HEX",
                        help="clé de déchiffrement du compteur en hexadécimal")
    keys.add_argument("--pan", required=True,
                      help="MeterPAN (18 chiffres) ou numéro de compteur (11 ou 13 chiffres)")
    keys.add_argument("--sgc", type=_int, required=True,
                      help="code de groupe d'approvisionnement (6 chiffres)")
    keys.add_argument("--ti", type=_int, required=True, help="index tarifaire (0-99)")
    keys.add_argument("--krn", type=_int, required=True, help="numéro de révision de clé")
    keys.add_argument("--kt", type=_int, default=2, help="type de clé (défaut 2 : unique)")
    keys.add_argument("--dkga", choices=("02", "04", "2", "4"), default="02",
                      help="algorithme de génération de la clé (défaut 02)")
    keys.add_argument("--ea", choices=("07", "11", "7"), default="07",
                      help="algorithme de chiffrement : 07 STA, 11 MISTY1 (défaut 07)")
    keys.add_argument("--base-date", default=None,
                      help="date de base des TID 1993|2014|2035 (défaut : celle en cours, "
                           f"{int(current_base_date())})")
    keys.add_argument("--tables", choices=("real", "sample"), default="real",
                      help="jeu de tables STA (défaut real)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Moteur de jetons STS (IEC 62055-41)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMANDE",
                                     parser_class=_Parser)

    issue = commands.add_parser("issue", help="émettre un jeton")
    _add_key_options(issue)
    issue.add_argument("--ken", type=_int, default=0xFF,
                       help="numéro d'expiration de la clé (défaut 255)")
    issue.add_argument("--class", dest="token_class", type=_int, choices=(0, 1, 2),
                       required=True, help="classe du jeton")
    issue.add_argument("--subclass", type=_int, required=True, help="sous-classe du jeton")
    value = issue.add_mutually_exclusive_group()
    value.add_argument("--amount", metavar="UNITÉS",
                       help="quantité en unités naturelles (kWh pour l'électricité, W pour "
                            "les limites)")
    value.add_argument("--value", type=_int,
                       help="valeur brute sur 16 bits (classe 1 : bits de commande)")
    issue.add_argument("--issued-at", type=_moment,
                       help="heure d'émission UTC (défaut : maintenant) ; si le compteur a "
                            "déjà reçu ce TID ou un plus récent, la minute libre suivante")
    issue.add_argument("--rnd", type=_int, help="quartet RND, pour reproduire un jeton")
    issue.add_argument("--mfr-code", type=_int,
                       help="classe 1 : code fabricant (défaut : celui du PAN)")
    issue.add_argument("--last-tid", type=_int,
                       help="dernier TID reçu par ce compteur (s'il est plus récent que celui "
                            "du fichier d'état)")
    issue.add_argument("--tid-file", type=Path,
                       help="fichier d'état des derniers TID par compteur (défaut : "
                            "GUICHET_STS_TID_FILE, sinon sts-tid.json du dossier de données)")
    issue.add_argument("--verbose", action="store_true", help="détails sur stderr")
    issue.set_defaults(handler=_issue)

    change = commands.add_parser("key-change", help="émettre les jetons d'un changement de clé")
    _add_key_options(change)
    change.add_argument("--new-ti", type=_int, required=True, help="nouvel index tarifaire")
    change.add_argument("--new-krn", type=_int, required=True,
                        help="nouveau numéro de révision de clé")
    change.add_argument("--new-kt", type=_int, required=True, help="nouveau type de clé")
    change.add_argument("--new-sgc", type=_int, help="défaut : inchangé")
    new_key = change.add_mutually_exclusive_group()
    new_key.add_argument("--new-vending-key", metavar="HEX", help="défaut : l'ancienne")
    new_key.add_argument("--new-vending-key-file", metavar="FICHIER")
    new_key.add_argument("--new-decoder-key", metavar="HEX")
    change.add_argument("--new-base-date",
                        help="défaut : inchangée, ou 2014 pour un --rollover depuis 1993")
    change.add_argument("--ken", type=_int, required=True,
                        help="numéro d'expiration de clé à donner")
    change.add_argument("--rollover", action="store_true",
                        help="indicateur de roll-over (le compteur oublie ses TID)")
    change.add_argument("--verbose", action="store_true", help="détails sur stderr")
    change.set_defaults(handler=_key_change)

    decode = commands.add_parser("decode", help="décoder un jeton pour un compteur")
    _add_key_options(decode)
    decode.add_argument("--ken", type=_int, default=0xFF,
                        help="KEN du compteur (défaut 255)")
    decode.add_argument("--last-tids", default="",
                        help="TID mémorisés par le compteur, séparés par des virgules "
                             "(contrôles OLD/USED)")
    decode.add_argument("token", metavar="JETON")
    decode.set_defaults(handler=_decode)
    return parser


def _profile(args: argparse.Namespace, ken: int = 0xFF) -> MeterKeyProfile:
    return MeterKeyProfile(
        pan=args.pan, sgc=args.sgc, ti=args.ti, krn=args.krn, kt=args.kt, ken=ken,
        ea=int(args.ea), dkga=int(args.dkga),
        base_date=current_base_date() if args.base_date is None else base_date(args.base_date),
        tables=args.tables,
    )


def _keys(args: argparse.Namespace) -> KeySource:
    if args.vending_key:
        return VendingKey.from_hex(args.vending_key, label="command line")
    if args.vending_key_file:
        return VendingKey.from_file(args.vending_key_file)
    if args.vending_key_env:
        return VendingKey.from_env(args.vending_key_env)
    if args.decoder_key:
        return DecoderKey.from_hex(args.decoder_key, label="command line")
    raise UsageError("une clé est obligatoire : --vending-key, --vending-key-file, "
                     "--vending-key-env ou --decoder-key")


def _issue(args: argparse.Namespace) -> int:
    profile = _profile(args, args.ken)
    if args.token_class == 1:
        mfr = profile.meter_pan.mfr_code if args.mfr_code is None else args.mfr_code
        if args.value is None:
            raise UsageError("la classe 1 demande --value (les bits de commande)")
        token = issue_test_token(args.subclass, args.value, mfr)
    else:
        keys = _keys(args)
        if args.token_class == 0 and args.amount is None and args.value is None:
            raise UsageError("la classe 0 demande --amount ou --value")
        with TidState(args.tid_file or default_tid_file()) as tids:
            known = tids.last(profile.pan, profile.base)
            if args.last_tid is not None and (known is None or args.last_tid > known):
                known = args.last_tid
            seeds = {} if known is None else {(profile.pan, int(profile.base)): known}
            issuer = TokenIssuer(allocator=TidAllocator(last_tids=seeds))
            issued_at = args.issued_at or datetime.now(UTC)
            if args.token_class == 0:
                token = issuer.credit(profile, keys, args.amount, value=args.value,
                                      subclass=args.subclass, issued_at=issued_at, rnd=args.rnd)
            else:
                token = issuer.management(profile, keys, args.subclass, amount=args.amount,
                                          value=args.value, issued_at=issued_at, rnd=args.rnd)
            assert token.tid is not None
            tids.record(profile.pan, profile.base, token.tid)
    if args.verbose:
        print(f"{token.description} tid={token.tid} rnd={token.rnd} value={token.value} "
              f"token={token.grouped}", file=sys.stderr)
    print(token.digits)
    return 0


def _key_change(args: argparse.Namespace) -> int:
    old = _profile(args)
    keys = _keys(args)
    new_keys: KeySource
    if args.new_vending_key:
        new_keys = VendingKey.from_hex(args.new_vending_key, label="command line")
    elif args.new_vending_key_file:
        new_keys = VendingKey.from_file(args.new_vending_key_file)
    elif args.new_decoder_key:
        new_keys = DecoderKey.from_hex(args.new_decoder_key, label="command line")
    elif isinstance(keys, VendingKey):
        new_keys = keys
    else:
        raise UsageError("avec --decoder-key, donnez --new-vending-key ou --new-decoder-key")
    if args.new_base_date:
        new_base = base_date(args.new_base_date)
    elif args.rollover and old.base_date == 1993:
        new_base = base_date(2014)
    else:
        new_base = old.base
    new = old.with_changes(
        ti=args.new_ti, krn=args.new_krn, kt=args.new_kt, ken=args.ken, base_date=new_base,
        sgc=old.sgc if args.new_sgc is None else args.new_sgc,
    )
    tokens = key_change_set(old, keys, new, new_keys, rollover=args.rollover)
    if args.verbose:
        print(f"fiche du compteur après les jetons : SGC {new.sgc:06d}, TI {new.ti:02d}, "
              f"KRN {new.krn}, KT {new.kt}, KEN {new.ken}, date de base {int(new.base)}",
              file=sys.stderr)
    for token in tokens:
        if args.verbose:
            print(f"{token.description}: {token.grouped}", file=sys.stderr)
        print(token.digits)
    return 0


def _decode(args: argparse.Namespace) -> int:
    from .decoder import decode_token

    try:
        last = [_parse_int(t) for t in args.last_tids.replace(" ", "").split(",") if t]
    except ValueError:
        raise UsageError(
            f"--last-tids attend des entiers séparés par des virgules : « {args.last_tids} »"
        ) from None
    has_key = any((args.vending_key, args.vending_key_file, args.vending_key_env,
                   args.decoder_key))
    decoded = decode_token(_profile(args, args.ken), args.token,
                           keys=_keys(args) if has_key else None, last_tids=last or None)
    for name, value in decoded.fields():
        print(f"{name}: {value}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: int = args.handler(args)
        return result
    except UsageError as exc:
        print(f"sts : erreur d'utilisation : {exc}", file=sys.stderr)
        return 2
    except StsError as exc:
        print(f"sts : erreur [{exc.code}] : {exc.message_fr}", file=sys.stderr)
        return 1
    except TidStateError as exc:
        print(f"sts : erreur [tid_state] : {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sts : interrompu", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI promises one line, never a traceback
        print(f"sts : erreur interne : {type(exc).__name__} : {exc}", file=sys.stderr)
        return 1
