"""`penctl audit verify|show|report`: check a session journal, read it, export it for auditors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from controller.journal.audit import JournalView

_EXIT_CODES = """exit status:
  0  PASS: every record present, unchanged, in order; every session closed and signed by the
     pinned key; not behind or forked from the witness
  1  FAIL: tampering or corruption (the first failing record is named)
  3  INCOMPLETE: the chain is intact, but a session is not closed or was recovered after a crash
  4  UNPROTECTED: intact and self-consistent, but checked without a pinned key (enrol one with
     `penctl audit trust`) or without a witness (--witness), so a re-signed or rolled-back
     journal could not be told apart
  2  usage error (bad PATH, option or file)"""

_PATH_HELP = (
    "a journal directory or one session-NNNNNN.jsonl file "
    "(default: $PENCTL_JOURNAL_DIR, else ~/.local/share/penctl/journal)"
)


def register(subparsers: argparse._SubParsersAction) -> None:
    audit = subparsers.add_parser(
        "audit",
        help="verify, read and export session journals (for auditors)",
        description="Verify a session journal, show its timeline, or export a report.",
    )
    actions = audit.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    _add_verify(actions)
    _add_trust(actions)
    _add_show(actions)
    _add_report(actions)


def _add_verify(actions: argparse._SubParsersAction) -> None:
    verify = actions.add_parser(
        "verify",
        help="check framing, chain, links, signatures, sequence, termination and schema",
        description="Verify a journal and report each dimension separately, naming the first "
        "failing record by sequence number and byte offset. Nothing is modified.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verify.add_argument("path", nargs="?", metavar="PATH", help=_PATH_HELP)
    verify.add_argument("--json", action="store_true", help="print one JSON object (verdict etc.)")
    _anchor_options(verify)
    verify.set_defaults(handler=_verify)


def _add_trust(actions: argparse._SubParsersAction) -> None:
    trust = actions.add_parser(
        "trust",
        help="enrol the clinic's public key, so verify pins signatures to it",
        description="Enrol a journal signing key once (the controller's journal-ed25519.pub.pem): "
        "from then on verify, show and report fail a journal signed by any other key, except "
        "one the journal was handed over to from it (`penctl journal rotate-key`). Prints the "
        "key's fingerprint, to compare with the one the clinic states.",
    )
    trust.add_argument("keyfile", metavar="KEYFILE", help="the public key file (PEM)")
    trust.add_argument(
        "--trust-dir",
        metavar="DIR",
        help="the trust store (default: $PENCTL_TRUST_DIR, else ~/.config/penctl/trust)",
    )
    trust.set_defaults(handler=_trust)


def _add_show(actions: argparse._SubParsersAction) -> None:
    show = actions.add_parser(
        "show",
        help="print a readable timeline of the sessions",
        description="Print each session's timeline: time, actor and what happened, with the "
        "verification verdict and any finding beside the record it concerns.",
    )
    show.add_argument("path", nargs="?", metavar="PATH", help=_PATH_HELP)
    show.add_argument("--session", type=int, metavar="N", help="only session N")
    _anchor_options(show)
    show.set_defaults(handler=_show)


def _add_report(actions: argparse._SubParsersAction) -> None:
    report = actions.add_parser(
        "report",
        help="export a session report as HTML, CSV or JSON",
        description="Export a report: html is one self-contained page (summary, per-area table, "
        "depth and speed chart, alarms, operator actions, verdict); csv is the timeline, one row "
        "per record; json is the verification and the session summaries.",
    )
    report.add_argument("path", nargs="?", metavar="PATH", help=_PATH_HELP)
    report.add_argument("--format", choices=("html", "csv", "json"), required=True)
    report.add_argument("-o", "--output", metavar="OUT", default="-", help="file ('-': stdout)")
    report.add_argument("--session", type=int, metavar="N", help="only session N")
    _anchor_options(report)
    report.set_defaults(handler=_report)


def _anchor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--public-key",
        metavar="FILE",
        help="pin the signing key to this file (the controller's journal-ed25519.pub.pem) "
        "instead of the trust store's keys; signatures by any other key fail",
    )
    parser.add_argument(
        "--witness",
        action="append",
        default=[],
        metavar="DIR|FILE|SEQ:HASH",
        help="what a witness saw: its directory, a copy of head.json, or the head fingerprint "
        "printed on a report (e.g. 86:2d44a1c09b3e4dce); the journal fails if it is behind or "
        "forked from it. May be given more than once",
    )
    parser.add_argument(
        "--trust-dir",
        metavar="DIR",
        help="the trust store (default: $PENCTL_TRUST_DIR, else ~/.config/penctl/trust)",
    )


class _UsageError(Exception):
    pass


def _fail(action: str, message: str) -> int:
    print(f"penctl audit {action}: {message}", file=sys.stderr)
    return 2


def _target(args: argparse.Namespace) -> Path:
    from controller.journal import resolve_journal_dir

    if args.path:
        return Path(args.path)
    default = resolve_journal_dir()
    if not default.exists():
        raise _UsageError(
            f"no PATH given and the configured journal directory {default} does not exist; "
            "give PATH, or set PENCTL_JOURNAL_DIR to the journal directory"
        )
    return default


def _read(args: argparse.Namespace) -> JournalView:
    from controller.journal.audit import read_journal
    from controller.journal.audit.anchors import WitnessInputError, load_witness
    from controller.journal.audit.trust import resolve_trust_dir, trusted_keys
    from controller.journal.signing import load_public_key

    pinned = None
    trusted: list[str] = []
    if args.public_key:
        pinned = load_public_key(Path(args.public_key))
    else:
        trusted = trusted_keys(resolve_trust_dir(args.trust_dir))
    try:
        witnesses = [load_witness(given) for given in args.witness]
    except WitnessInputError as exc:
        raise _UsageError(str(exc)) from exc
    view = read_journal(
        _target(args), pinned_public_key=pinned, trusted_keys=trusted, witnesses=witnesses
    )
    number = getattr(args, "session", None)
    if number is not None and view.session(number) is None:
        held = ", ".join(str(s.number) for s in view.sessions) or "none"
        raise _UsageError(
            f"session {number} is not in {view.report.path} (it holds sessions: {held}); "
            "give one of those with --session, or leave --session out"
        )
    return view


def _run(action: str, args: argparse.Namespace, body: Callable[[argparse.Namespace], int]) -> int:
    from controller.journal import JournalError
    from controller.journal.audit import AuditInputError

    try:
        return body(args)
    except (_UsageError, AuditInputError, JournalError) as exc:
        return _fail(action, str(exc))
    except OSError as exc:
        name = exc.filename or "the journal"
        return _fail(action, f"cannot read {name}: {exc.strerror}; check the path and try again")


def _verify(args: argparse.Namespace) -> int:
    def body(args: argparse.Namespace) -> int:
        import json

        from controller.journal.audit.render_text import render_verification

        report = _read(args).report
        if args.json:
            print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        else:
            print(render_verification(report), end="")
        return report.exit_code

    return _run("verify", args, body)


def _trust(args: argparse.Namespace) -> int:
    def body(args: argparse.Namespace) -> int:
        from controller.journal.audit.trust import enrol, resolve_trust_dir

        key, public_hex, path = enrol(Path(args.keyfile), resolve_trust_dir(args.trust_dir))
        print(
            f"trusted key {key} (public key {public_hex}), stored in {path}.\n"
            "Compare this fingerprint with the one the clinic states; verify, show and report "
            "now fail a journal signed by any other key."
        )
        return 0

    return _run("trust", args, body)


def _show(args: argparse.Namespace) -> int:
    def body(args: argparse.Namespace) -> int:
        from controller.journal.audit.render_text import render_timeline

        print(render_timeline(_read(args), args.session), end="")
        return 0

    return _run("show", args, body)


def _report(args: argparse.Namespace) -> int:
    def body(args: argparse.Namespace) -> int:
        from controller.journal.audit.exports import render_csv, render_json
        from controller.journal.audit.render_html import render_html

        view = _read(args)
        render = {"html": render_html, "csv": render_csv, "json": render_json}[args.format]
        text = render(view, args.session)
        if args.output == "-":
            sys.stdout.write(text)
            return 0
        out = Path(args.output)
        try:
            out.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _UsageError(
                f"cannot write {out}: {exc.strerror}; choose a writable file with -o"
            ) from exc
        print(
            f"wrote the {args.format} report of {view.report.path} to {out} "
            f"(verification: {view.report.verdict})"
        )
        return 0

    return _run("report", args, body)
