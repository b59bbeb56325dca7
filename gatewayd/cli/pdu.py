"""`gatewayd pdu decode` and `gatewayd pdu encode`: the PDU codec as a command (SPEC §3.1, 3.4)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from gatewayd.config.command_line import CliError, add_parser
from gatewayd.sms import PduError, choose_encoding, decode_pdu, encode_submit, pdu_to_json


def _print_json(value: dict[str, Any], stream: TextIO) -> None:
    stream.write(json.dumps(value, ensure_ascii=False) + "\n")


def _decode_lines(lines: TextIO, *, smsc: bool) -> int:
    exit_code = 0
    for line in lines:
        pdu = line.strip()
        if not pdu:
            continue
        try:
            view = pdu_to_json(decode_pdu(pdu, smsc=smsc))
        except PduError as exc:
            view = {"error": str(exc)}
            exit_code = 1
        _print_json(view, sys.stdout)
        sys.stdout.flush()
    return exit_code


def run_decode(args: argparse.Namespace) -> int:
    smsc = not args.no_smsc
    if args.pdu == "-":
        return _decode_lines(sys.stdin, smsc=smsc)
    try:
        decoded = decode_pdu(args.pdu, smsc=smsc)
    except PduError as exc:
        raise CliError(str(exc)) from None
    _print_json(pdu_to_json(decoded), sys.stdout)
    return 0


def run_encode(args: argparse.Namespace) -> int:
    try:
        parts = encode_submit(
            args.to,
            args.text,
            mr=args.ref,
            status_report=args.status_report,
            flash=args.flash,
            encoding=args.encoding,
            concat_ref=args.concat_ref,
            reject_duplicates=args.reject_duplicates,
            validity_minutes=args.validity,
            smsc=args.smsc,
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    encoding = choose_encoding(args.text) if args.encoding == "auto" else args.encoding
    _print_json(
        {
            "encoding": encoding,
            "parts": [{"pdu": part.pdu, "tpdu_length": part.tpdu_length} for part in parts],
        },
        sys.stdout,
    )
    return 0


def register(subparsers: Any) -> None:
    parser = add_parser(subparsers, "pdu", "decode or encode SMS PDUs (JSON out)")
    actions = parser.add_subparsers(dest="pdu_command", metavar="ACTION", required=True)

    decode = add_parser(
        actions, "decode", "decode an SMS-DELIVER, SMS-SUBMIT or SMS-STATUS-REPORT PDU to JSON"
    )
    decode.add_argument(
        "--no-smsc", action="store_true", help="the PDU starts with the TPDU (no SMSC field)"
    )
    decode.add_argument(
        "pdu", metavar="HEX|-", help="the PDU in hex, or '-' to read one PDU per line from stdin"
    )
    decode.set_defaults(handler=run_decode)

    encode = add_parser(actions, "encode", "encode SMS-SUBMIT PDUs for AT+CMGS, as JSON")
    encode.add_argument("--to", required=True, metavar="NUMBER", help="+international or digits")
    encode.add_argument("--status-report", action="store_true", help="request a status report")
    encode.add_argument("--flash", action="store_true", help="class 0 (flash) message")
    encode.add_argument("--encoding", choices=("auto", "gsm7", "ucs2"), default="auto")
    encode.add_argument("--ref", type=int, default=0, metavar="N", help="TP-MR 0-255 (default 0)")
    encode.add_argument(
        "--concat-ref",
        type=int,
        metavar="N",
        help="concatenation reference 0-65535 (default: --ref); 16-bit above 255",
    )
    encode.add_argument(
        "--reject-duplicates", action="store_true", help="set TP-RD (reject duplicates)"
    )
    encode.add_argument(
        "--validity", type=int, metavar="MINUTES", help="relative validity period in minutes"
    )
    encode.add_argument(
        "--smsc", metavar="NUMBER", help="SMSC number to write (default: 00, the SIM's SMSC)"
    )
    encode.add_argument("text", metavar="TEXT", help="the message text")
    encode.set_defaults(handler=run_encode)
