"""Command line: ``python -m central.sts issue|key-change|decode``.

Tokens go to stdout, one per line, the token always being the last line; details asked for
with ``--verbose`` go to stderr. Every error is one line on stderr: exit 2 for a usage
error, 1 for a domain error (bad check digit, amount too large, key expired ...).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NoReturn

from .errors import StsError
from .key_change import key_change_set
from .keys import KeySource
from .profile import MeterKeyProfile
from .tid import base_date, to_utc
from .tokens import issue_credit, issue_management, issue_test_token
from .vending_keys import DecoderKey, VendingKey

PROG = "python -m central.sts"


class UsageError(Exception):
    """A command line that is well-formed for argparse but incomplete or contradictory."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"sts: usage error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def _parse_int(text: str) -> int:
    """Decimal (leading zeros allowed, as in TI 01) or 0x-prefixed hexadecimal."""
    cleaned = text.strip().lower()
    return int(cleaned, 0) if cleaned.startswith("0x") else int(cleaned, 10)


def _int(text: str) -> int:
    try:
        return _parse_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _moment(text: str) -> datetime:
    try:
        return to_utc(datetime.fromisoformat(text.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO date-time (e.g. 2004-03-01T13:55): {text!r}"
        ) from None


def _add_key_options(parser: argparse.ArgumentParser) -> None:
    keys = parser.add_argument_group("meter key")
    source = keys.add_mutually_exclusive_group()
    source.add_argument("--vending-key", metavar="HEX", help="vending key in hex (TEST use: "
                        "visible in the process list; prefer --vending-key-file)")
    source.add_argument("--vending-key-file", metavar="PATH",
                        help="file holding the vending key (mode 600)")
    source.add_argument("--vending-key-env", metavar="NAME",
                        help="environment variable holding the vending key")
    source.add_argument("--decoder-key", metavar="HEX", help="the meter's decoder key in hex")
    keys.add_argument("--pan", required=True, help="18-digit MeterPAN or 11/13-digit DRN")
    keys.add_argument("--sgc", type=_int, required=True, help="supply group code (6 digits)")
    keys.add_argument("--ti", type=_int, required=True, help="tariff index (0-99)")
    keys.add_argument("--krn", type=_int, required=True, help="key revision number")
    keys.add_argument("--kt", type=_int, default=2, help="key type (default 2: unique)")
    keys.add_argument("--dkga", choices=("02", "04", "2", "4"), default="02",
                      help="decoder key generation algorithm (default 02)")
    keys.add_argument("--ea", choices=("07", "11", "7"), default="07",
                      help="encryption algorithm: 07 STA, 11 MISTY1 (default 07)")
    keys.add_argument("--base-date", default="1993", help="TID base date 1993|2014|2035")
    keys.add_argument("--tables", choices=("real", "sample"), default="real",
                      help="STA table set (default real)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="STS (IEC 62055-41) token engine")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    issue = commands.add_parser("issue", help="issue one token")
    _add_key_options(issue)
    issue.add_argument("--ken", type=_int, default=0xFF, help="key expiry number (default 255)")
    issue.add_argument("--class", dest="token_class", type=_int, choices=(0, 1, 2),
                       required=True)
    issue.add_argument("--subclass", type=_int, required=True)
    value = issue.add_mutually_exclusive_group()
    value.add_argument("--amount", metavar="UNITS",
                       help="amount in natural units (kWh for electricity, W for limits)")
    value.add_argument("--value", type=_int, help="raw 16-bit value (class 1: control bits)")
    issue.add_argument("--issued-at", type=_moment, help="UTC issue time (default: now)")
    issue.add_argument("--rnd", type=_int, help="RND nibble, to reproduce a token")
    issue.add_argument("--mfr-code", type=_int, help="class 1: MfrCode (default: the PAN's)")
    issue.add_argument("--verbose", action="store_true", help="details on stderr")
    issue.set_defaults(handler=_issue)

    change = commands.add_parser("key-change", help="issue a key change token set")
    _add_key_options(change)
    change.add_argument("--new-ti", type=_int, required=True)
    change.add_argument("--new-krn", type=_int, required=True)
    change.add_argument("--new-kt", type=_int, required=True)
    change.add_argument("--new-sgc", type=_int, help="default: unchanged")
    new_key = change.add_mutually_exclusive_group()
    new_key.add_argument("--new-vending-key", metavar="HEX", help="default: the old one")
    new_key.add_argument("--new-vending-key-file", metavar="PATH")
    new_key.add_argument("--new-decoder-key", metavar="HEX")
    change.add_argument("--new-base-date",
                        help="default: unchanged, or 2014 for a --rollover from 1993")
    change.add_argument("--ken", type=_int, required=True, help="key expiry number to set")
    change.add_argument("--rollover", action="store_true",
                        help="set the roll-over flag (meter clears its TID memory)")
    change.add_argument("--verbose", action="store_true", help="details on stderr")
    change.set_defaults(handler=_key_change)

    decode = commands.add_parser("decode", help="decode a token for a meter")
    _add_key_options(decode)
    decode.add_argument("--ken", type=_int, default=0xFF, help="the meter's KEN (default 255)")
    decode.add_argument("--last-tids", default="",
                        help="comma-separated TIDs the meter remembers (OLD/USED checks)")
    decode.add_argument("token", metavar="TOKEN")
    decode.set_defaults(handler=_decode)
    return parser


def _profile(args: argparse.Namespace, ken: int = 0xFF) -> MeterKeyProfile:
    return MeterKeyProfile(
        pan=args.pan, sgc=args.sgc, ti=args.ti, krn=args.krn, kt=args.kt, ken=ken,
        ea=int(args.ea), dkga=int(args.dkga), base_date=base_date(args.base_date),
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
    raise UsageError("one of --vending-key, --vending-key-file, --vending-key-env or "
                     "--decoder-key is required")


def _issue(args: argparse.Namespace) -> int:
    profile = _profile(args, args.ken)
    if args.token_class == 1:
        mfr = profile.meter_pan.mfr_code if args.mfr_code is None else args.mfr_code
        if args.value is None:
            raise UsageError("class 1 needs --value (the control bits)")
        token = issue_test_token(args.subclass, args.value, mfr)
    else:
        keys = _keys(args)
        issued_at = args.issued_at or datetime.now(UTC)
        if args.token_class == 0:
            if args.amount is None and args.value is None:
                raise UsageError("class 0 needs --amount or --value")
            token = issue_credit(profile, args.amount, issued_at, keys=keys, value=args.value,
                                 subclass=args.subclass, rnd=args.rnd)
        else:
            token = issue_management(profile, args.subclass, issued_at, keys=keys,
                                     amount=args.amount, value=args.value, rnd=args.rnd)
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
        raise UsageError("with --decoder-key, give --new-vending-key or --new-decoder-key")
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
        print(f"meter record after the set: SGC {new.sgc:06d}, TI {new.ti:02d}, KRN {new.krn}, "
              f"KT {new.kt}, KEN {new.ken}, base date {int(new.base)}", file=sys.stderr)
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
            f"--last-tids must be comma-separated integers: {args.last_tids!r}"
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
        print(f"sts: usage error: {exc}", file=sys.stderr)
        return 2
    except StsError as exc:
        print(f"sts: error [{exc.code}]: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("sts: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI promises one line, never a traceback
        print(f"sts: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
