"""`penctl profiles ...`: list, show, validate and explain treatment profiles and their limits.

Every failure prints what was wrong and what to do next, and exits non-zero without a traceback:
1 for invalid files, refusals and library problems, 2 for a wrong name or argument,
3 for a `limits --check` request that needs a confirmation.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from profiles import (
        Bound,
        DeviceLimits,
        EffectiveLimits,
        Library,
        LimitsRefusal,
        LoosenedFigure,
        ProfileEntry,
        RequestCheck,
        UnknownName,
    )

WIDTH = 100
EXIT_PROBLEM = 1
EXIT_USAGE = 2
EXIT_NEEDS_CONFIRMATION = 3
KINDS = ("profile", "policy", "areas")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profiles",
        help="treatment profiles, clinic policy and effective safety limits",
        description="Treatment profiles (bundled, plus a clinic directory given by --clinic-dir "
        "or $PENCTL_CLINIC_DIR that adds and overrides profiles by name), the clinic policy, "
        "and the effective limits for an area. See docs/profiles.md.",
    )
    parser.set_defaults(handler=lambda _args: _help(parser))
    commands = parser.add_subparsers(dest="profiles_command", metavar="SUBCOMMAND")
    _add_library_commands(commands)
    _add_file_commands(commands)
    _add_limits_command(commands)


def _add_library_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listing = commands.add_parser("list", help="list the profiles, the policy and any overrides")
    _clinic_option(listing)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=_list)

    show = commands.add_parser("show", help="show one profile: every area, range and note")
    show.add_argument("name", metavar="NAME", help="profile name, e.g. acne-scars")
    _clinic_option(show)
    show.add_argument("--json", action="store_true", help="print JSON (code units: µm, s)")
    show.set_defaults(handler=_show)

    policy = commands.add_parser("policy", help="show the clinic policy in force")
    _clinic_option(policy)
    policy.set_defaults(handler=_policy)

    areas = commands.add_parser("areas", help="show every area's hard and soft depth ceiling")
    areas.set_defaults(handler=_areas)


def _add_file_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = commands.add_parser(
        "validate",
        help="check profile, policy and area files; print every problem as file:line",
        description="Check files (or every *.toml in a directory). Prints "
        "`file:line: field: value: reason` for every problem in every file and exits 1 if "
        "there is any. policy.toml and *.policy.toml are policies, areas.toml and *.areas.toml "
        "area catalogues, any other *.toml a profile.",
    )
    validate.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
    validate.add_argument("--kind", choices=KINDS, help="treat every file as this kind")
    validate.set_defaults(handler=_validate)

    schema = commands.add_parser("schema", help="print the JSON Schema of a file kind")
    schema.add_argument("--kind", choices=KINDS, default="profile", help="default: profile")
    schema.set_defaults(handler=_schema)


def _add_limits_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Millimetre options are read into micrometres at once (`dest` says `_um`)."""
    limits = commands.add_parser(
        "limits",
        help="effective depth and speed limits for an area, and which layer set each bound",
        description="Intersect the pen, the cartridge, the area, the clinic policy, the "
        "practitioner level and the profile; print each bound with the layer that set it. "
        "Exits 1 when no depth or speed satisfies every layer.",
    )
    limits.add_argument("--profile", required=True, metavar="NAME", help="profile name")
    limits.add_argument("--area", required=True, metavar="AREA", help="area, e.g. cheek_left")
    limits.add_argument(
        "--cartridge-max-mm",
        dest="cartridge_max_um",
        type=_needle_um,
        metavar="MM",
        help="the fitted cartridge's needle length in mm (omit: no cartridge layer)",
    )
    limits.add_argument(
        "--level", metavar="LEVEL", help="practitioner level (default: the policy's default)"
    )
    limits.add_argument(
        "--pen-depth-mm",
        dest="pen_depth_um",
        nargs=3,
        type=_um_from_mm_text,
        metavar=("MIN", "MAX", "STEP"),
        help="the pen's depth range and step in mm (default: the simulated pen, 0.25 2.5 0.05)",
    )
    limits.add_argument(
        "--pen-speed-sps",
        nargs=3,
        type=_sps_from_text,
        metavar=("MIN", "MAX", "STEP"),
        help="the pen's speed range and step in strokes/s (default: 60 150 10)",
    )
    limits.add_argument(
        "--check",
        nargs=2,
        metavar=("DEPTH_MM", "SPEED_SPS"),
        help="also check one requested setting: exit 0 accepted, 3 needs a confirmation, 1 refused",
    )
    _clinic_option(limits)
    limits.add_argument("--json", action="store_true", help="print JSON (code units: µm)")
    limits.set_defaults(handler=_limits)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return EXIT_USAGE


def _clinic_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clinic-dir",
        metavar="DIR",
        help="clinic profile directory (default: $PENCTL_CLINIC_DIR, else bundled only)",
    )


def _quoted(text: str) -> str:
    """An argument as typed, cut short: a pasted number may have thousands of digits."""
    return repr(text if len(text) <= 24 else text[:21] + "...")


def _number_text(text: str, unit: str, example: str) -> Decimal:
    """The number in an argument; a comma as the decimal separator is named, not guessed."""
    from profiles.rawtext import odd_character

    cleaned = text.strip()
    if re.fullmatch(r"[-+]?\d+,\d+", cleaned):
        raise argparse.ArgumentTypeError(
            f"{_quoted(text)}: use a dot as the decimal separator, e.g. {cleaned.replace(',', '.')}"
        )
    odd = odd_character(cleaned)
    if odd is not None:
        raise argparse.ArgumentTypeError(f"{_quoted(text)}: {odd}")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(
            f"{_quoted(text)} is not a number of {unit}; give {unit} as digits, e.g. {example}"
        ) from None


def _um_from_mm_text(text: str) -> int:
    from profiles.units import UnitError, mm_to_um

    number = _number_text(text, "millimetres", "1.0")
    try:
        return mm_to_um(number)
    except UnitError as exc:
        raise argparse.ArgumentTypeError(f"{_quoted(text)}: {exc}") from None


def _needle_um(text: str) -> int:
    """A needle length: above 0 and within the deepest pen in the reference."""
    from profiles.fields import DEPTH_CEILING_UM
    from profiles.units import format_mm

    um = _um_from_mm_text(text)
    if um <= 0:
        raise argparse.ArgumentTypeError(
            f"{_quoted(text)}: a needle length must be above 0 mm; give the cartridge's needle "
            "length in mm, e.g. 1.5"
        )
    if um > DEPTH_CEILING_UM:
        raise argparse.ArgumentTypeError(
            f"{_quoted(text)}: longer than any needle in the reference (the deepest pen reaches "
            f"{format_mm(DEPTH_CEILING_UM)}); lengths are millimetres"
        )
    return um


def _sps_from_text(text: str) -> int:
    number = _number_text(text, "strokes per second", "120")
    if (
        not number.is_finite()
        or number != number.to_integral_value()
        or abs(number.adjusted()) > _SPS_DIGITS
    ):
        raise argparse.ArgumentTypeError(
            f"{_quoted(text)} is not a whole number of strokes per second, e.g. 120"
        )
    return int(number)


_SPS_DIGITS = 6
"""Strokes/s arguments have at most this many digits (the fastest pen in the reference: 300)."""


def _fail(message: str, code: int = EXIT_USAGE) -> int:
    print(f"penctl profiles: {message}", file=sys.stderr)
    return code


class _UsageError(Exception):
    """A wrong name or argument, found before anything is computed; the message is for people."""


def _no_such_profile(unknown: UnknownName, library: Library) -> str:
    off = library.why_off(unknown.given)
    if off is not None:
        return off
    hint = f" (did you mean {unknown.suggestions[0]!r}?)" if unknown.suggestions else ""
    return (
        f"no profile named {unknown.given!r}{hint}; `penctl profiles list` shows the "
        f"{len(unknown.known)} available"
    )


def _library(args: argparse.Namespace) -> Library | int:
    from profiles import LibraryError, load_library

    try:
        return load_library(args.clinic_dir)
    except LibraryError as exc:
        print(exc, file=sys.stderr)
        return EXIT_PROBLEM


def _wrap(text: str, indent: str) -> str:
    return textwrap.fill(
        text,
        WIDTH,
        initial_indent=indent,
        subsequent_indent=" " * len(indent),
        break_on_hyphens=False,
        break_long_words=False,
    )


# ---- list, show, policy, areas ------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    library = _library(args)
    if isinstance(library, int):
        return library
    if args.json:
        print(
            json.dumps(
                {
                    "profiles": [
                        {
                            "name": name,
                            "title": entry.profile.title,
                            "concern": entry.profile.concern.value,
                            "areas": [area.value for area in entry.profile.areas],
                            "origin": entry.origin,
                            "file": entry.file,
                            "content_hash": entry.content_hash,
                        }
                        for name, entry in library.profiles.items()
                    ],
                    "disabled": [
                        {"name": name, "evidence": entry.profile.evidence, "file": entry.file}
                        for name, entry in library.disabled.items()
                    ],
                    "policy": {
                        "name": library.policy.name,
                        "origin": library.policy_origin,
                        "file": library.policy_file,
                        "hash": library.policy_hash,
                    },
                    "overrides": [str(override) for override in library.overrides],
                    "skipped": [
                        {"path": skipped.path, "reason": skipped.reason}
                        for skipped in library.skipped
                    ],
                    "loosened": [asdict(figure) for figure in library.loosened],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    rows = [
        (name, entry.profile.concern_label, str(len(entry.profile.areas)), entry.origin)
        for name, entry in library.profiles.items()
    ]
    header = ("NAME", "CONCERN", "AREAS", "ORIGIN")
    widths = [max(len(row[i]) for row in [*rows, header]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + "  HASH")
    for row, entry in zip(rows, library.profiles.values(), strict=True):
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        print("  ".join([*cells, entry.content_hash[:19] + "…"]))
    print(
        f"\npolicy: {library.policy.name} ({library.policy_origin}, {library.policy_file}) "
        f"{library.policy_hash[:19]}…"
    )
    if library.clinic_dir is not None:
        print(f"clinic directory: {library.clinic_dir}")
    for override in library.overrides:
        print(f"override: {override}")
    for name, entry in library.disabled.items():
        why = entry.profile.evidence or "enabled = false"
        print(_wrap(f"{name} ({entry.origin}, not usable): {why}", "off: "))
    for skipped in library.skipped:
        print(f"note: {skipped}")
    for warning in library.warnings:
        print(f"warning: {warning}")
    _print_loosened(library.loosened)
    return 0


def _print_loosened(loosened: Sequence[LoosenedFigure], where: str = "") -> None:
    """Loud on purpose: a clinic policy that loosens a bundled safety figure must never pass
    unnoticed."""
    for figure in loosened:
        print(_wrap(f"{where}{figure}", "LOOSENED SAFETY FIGURE: "))


def _show(args: argparse.Namespace) -> int:
    from profiles import UnknownName, format_mm, format_sps
    from profiles.units import format_minutes

    library = _library(args)
    if isinstance(library, int):
        return library
    entry = library.find_profile(args.name)
    if isinstance(entry, UnknownName):
        return _fail(_no_such_profile(entry, library))
    profile = entry.profile
    if args.json:
        document = {
            "profile": profile.model_dump(mode="json"),
            "origin": entry.origin,
            "file": entry.file,
            "content_hash": entry.content_hash,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    print(f"{profile.name}: {profile.title}")
    print(f"concern: {profile.concern_label} · {entry.origin} ({entry.file})")
    print(f"content hash: {entry.content_hash}")
    print(_wrap(profile.description, ""))
    for area, settings in profile.areas.items():
        spec = library.areas.spec(area)
        print(f"\n{spec.label} ({area.value})")
        print(
            f"  depth   {format_mm(settings.depth_min_um)} – {format_mm(settings.depth_max_um)}, "
            f"starts at {format_mm(settings.depth_default_um)}"
        )
        if settings.depth_soft_max_um is not None:
            print(
                _wrap(
                    f"deeper than {format_mm(settings.depth_soft_max_um)} needs a confirmation: "
                    f"{settings.depth_soft_reason}",
                    "  soft    ",
                )
            )
        print(
            f"  speed   {format_sps(settings.speed_min_sps)} – "
            f"{format_sps(settings.speed_max_sps)}, starts at "
            f"{format_sps(settings.speed_default_sps)}"
        )
        print(
            f"  limits  at most {settings.max_passes} passes and "
            f"{format_minutes(settings.max_time_s)} on the area"
        )
        print(_wrap(settings.notes, "  notes   "))
        if settings.source:
            print(_wrap(settings.source, "  source  "))
    if profile.sources:
        print("\nsources:")
        for source in profile.sources:
            print(_wrap(source, "  - "))
    return 0


def _policy(args: argparse.Namespace) -> int:
    from profiles import CONCERN_LABELS, format_mm, format_sps
    from profiles.units import format_minutes

    library = _library(args)
    if isinstance(library, int):
        return library
    policy = library.policy
    print(f"{policy.name} ({library.policy_origin}, {library.policy_file})")
    print(f"policy hash: {library.policy_hash}")
    _print_loosened(library.loosened)
    print(
        _wrap(
            f"deeper than {format_mm(policy.soft_depth_max_um)} needs a confirmation: "
            f"{policy.soft_depth_reason}",
            "soft ceiling: ",
        )
    )
    if policy.depth_max_um is not None:
        print(f"clinic depth cap: {format_mm(policy.depth_max_um)}")
    if policy.speed_max_sps is not None:
        print(f"clinic speed cap: {format_sps(policy.speed_max_sps)}")
    print("\npractitioner levels:")
    for name, level in policy.levels.items():
        default = " (default)" if name == policy.default_level else ""
        speed_cap = "" if level.speed_max_sps is None else f", {format_sps(level.speed_max_sps)}"
        print(f"  {name}{default}: at most {format_mm(level.depth_max_um)}{speed_cap}")
    print("\nminimum days between sessions:")
    for concern, days in policy.min_interval_days.items():
        print(f"  {CONCERN_LABELS[concern]}: {days}")
    numbing = policy.numbing
    print(
        f"\nnumbing cream: {format_minutes(numbing.min_dwell_s)} to "
        f"{format_minutes(numbing.max_dwell_s)}"
        + (", removed fully before needling" if numbing.remove_before_needling else "")
    )
    for title, items in (("blocking", policy.blocking()), ("caution", policy.cautions())):
        print(f"\n{title} contraindications:")
        for key, item in items.items():
            print(_wrap(f"{item.text} [{key}]", "  - "))
    return 0


def _areas(args: argparse.Namespace) -> int:
    from profiles import format_mm, load_library

    library = load_library(environ={})
    print(f"{'AREA':<18}  {'HARD':>7}  {'SOFT':>7}  LABEL")
    for area, spec in library.areas.areas.items():
        medical = spec.medical_only_above_um
        only = "" if medical is None else f" (past {format_mm(medical)}: medical levels only)"
        print(
            f"{area.value:<18}  {format_mm(spec.depth_max_um):>7}  "
            f"{format_mm(spec.depth_soft_max_um):>7}  {spec.label}{only}"
        )
    print(f"\nfrom {library.areas_file}; sources in the file and in docs/profiles.md")
    return 0


# ---- validate and schema ------------------------------------------------------------------------


def _validate(args: argparse.Namespace) -> int:
    from profiles import ClinicPolicy, FileKind, load_library
    from profiles.loader import validate_paths
    from profiles.loosening import loosened_figures

    checked = validate_paths(args.paths, FileKind(args.kind) if args.kind else None)
    results, problems = checked.results, checked.issues
    for issue in problems:
        print(issue)
    for skipped in checked.skipped:
        print(f"note: {skipped}")
    for warning in checked.warnings:
        print(f"warning: {warning}")
    bad_files = sum(1 for result in results if not result.ok)
    if problems:
        print(
            f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {bad_files} of "
            f"{len(results)} file{'s' if len(results) != 1 else ''}; nothing was loaded. Fix "
            "each line above and run `penctl profiles validate` again.",
            file=sys.stderr,
        )
        return EXIT_PROBLEM
    if not results:
        return _fail("no *.toml files found in the given directories", EXIT_PROBLEM)
    bundled_policy = load_library(environ={}).policy
    for result in results:
        print(f"{result.file}: ok ({result.kind.value})")
        if isinstance(result.model, ClinicPolicy):
            _print_loosened(loosened_figures(result.model, bundled_policy), f"{result.file}: ")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from profiles import FileKind
    from profiles.loader import model_for

    model = model_for(FileKind(args.kind))
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **model.model_json_schema(mode="validation", by_alias=True),
    }
    print(json.dumps(schema, indent=2, ensure_ascii=False))
    return 0


# ---- limits -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _LimitsQuery:
    """What `limits` was asked, with the profile and level found and figures in code units."""

    library: Library
    entry: ProfileEntry
    area: str
    """As the library names it (an unknown area is a usage error, exit 2, like any wrong name)."""
    level: str
    device: DeviceLimits
    cartridge_max_um: int | None
    request: tuple[int, int] | None
    """`--check` as (depth µm, speed strokes/s)."""


def _limits(args: argparse.Namespace) -> int:
    from profiles import check_request

    library = _library(args)
    if isinstance(library, int):
        return library
    try:
        query = _limits_query(library, args)
    except _UsageError as exc:
        return _fail(str(exc))
    result = library.effective_limits(
        query.entry.profile.name, query.area, query.device, query.cartridge_max_um, query.level
    )
    check = None if query.request is None else check_request(result, *query.request)
    if args.json:
        print(json.dumps(_limits_document(query, result, check), indent=2, ensure_ascii=False))
    else:
        _print_query(query)
        print()
        _print_result(result)
        if check is not None:
            print()
            print(_wrap(check.message, f"check {check.verdict.value}: "))
    return _limits_exit_code(result, check)


def _limits_query(library: Library, args: argparse.Namespace) -> _LimitsQuery:
    """Raises `_UsageError` for the first wrong name or argument, in the order they are given."""
    from profiles import UnknownName
    from profiles.names import unknown_sentence

    entry = library.find_profile(args.profile)
    if isinstance(entry, UnknownName):
        raise _UsageError(_no_such_profile(entry, library))
    area = library.find_area(args.area)
    if isinstance(area, UnknownName):
        raise _UsageError(unknown_sentence(area))
    level = args.level or library.policy.default_level
    if level not in library.policy.levels:
        raise _UsageError(
            f"no practitioner level {level!r} in the clinic policy; use one of "
            f"{', '.join(library.policy.levels)}"
        )
    return _LimitsQuery(
        library=library,
        entry=entry,
        area=area.value,
        level=level,
        device=_device(args.pen_depth_um, args.pen_speed_sps),
        cartridge_max_um=args.cartridge_max_um,
        request=None if args.check is None else _request(*args.check),
    )


def _device(depth_um: list[int] | None, speed_sps: list[int] | None) -> DeviceLimits:
    """The simulated pen, with the ranges given on the command line."""
    from pydantic import ValidationError

    from profiles import SIMULATED_PEN, DeviceLimits

    fields = SIMULATED_PEN.model_dump()
    if depth_um:
        names = ("depth_min_um", "depth_max_um", "depth_step_um")
        fields.update(zip(names, depth_um, strict=True))
    if speed_sps:
        names = ("speed_min_sps", "speed_max_sps", "speed_step_sps")
        fields.update(zip(names, speed_sps, strict=True))
    try:
        return DeviceLimits(**fields)
    except ValidationError as exc:
        reasons = "; ".join(error["msg"] for error in exc.errors())
        raise _UsageError(f"the pen's ranges are not usable: {reasons}") from None


def _request(depth_mm_text: str, speed_sps_text: str) -> tuple[int, int]:
    try:
        return _um_from_mm_text(depth_mm_text), _sps_from_text(speed_sps_text)
    except argparse.ArgumentTypeError as exc:
        raise _UsageError(f"--check: {exc}") from None


def _limits_document(
    query: _LimitsQuery, result: EffectiveLimits | LimitsRefusal, check: RequestCheck | None
) -> dict[str, Any]:
    from profiles import LimitsRefusal

    document: dict[str, Any] = {
        "profile": query.entry.profile.name,
        "profile_hash": query.entry.content_hash,
        "policy_hash": query.library.policy_hash,
        "device": query.device.model_dump(),
        "cartridge_max_um": query.cartridge_max_um,
        "result": result.model_dump(mode="json"),
        "refused": isinstance(result, LimitsRefusal),
    }
    if check is not None:
        document["check"] = check.model_dump(mode="json")
    return document


def _limits_exit_code(result: EffectiveLimits | LimitsRefusal, check: RequestCheck | None) -> int:
    from profiles import LimitsRefusal, RequestVerdict

    if isinstance(result, LimitsRefusal):
        return EXIT_PROBLEM
    if check is not None and check.verdict is RequestVerdict.REFUSED:
        return EXIT_PROBLEM
    if check is not None and check.verdict is RequestVerdict.NEEDS_CONFIRMATION:
        return EXIT_NEEDS_CONFIRMATION
    return 0


def _print_query(query: _LimitsQuery) -> None:
    """Every layer that went in, so a printed answer can be checked against its inputs."""
    from profiles import UnknownName, format_mm, format_sps

    library, entry, device = query.library, query.entry, query.device
    area = library.find_area(query.area)
    area_label = (
        query.area
        if isinstance(area, UnknownName)
        else f"{library.areas.spec(area).label} ({area.value})"
    )
    print(
        f"profile {entry.profile.name} ({entry.origin}, {entry.content_hash[:19]}…) · "
        f"area {area_label} · level {query.level}"
    )
    print(
        f"pen: {format_mm(device.depth_min_um)} – {format_mm(device.depth_max_um)} in "
        f"{format_mm(device.depth_step_um)} steps, {format_sps(device.speed_min_sps)} – "
        f"{format_sps(device.speed_max_sps)} in {format_sps(device.speed_step_sps)} steps"
    )
    cartridge_um = query.cartridge_max_um
    print(
        "cartridge: "
        + ("not given (no cartridge layer)" if cartridge_um is None else format_mm(cartridge_um))
    )
    print(f"policy: {library.policy.name} ({library.policy_hash[:19]}…)")


def _print_result(result: EffectiveLimits | LimitsRefusal) -> None:
    from profiles import LimitsRefusal, format_mm, format_sps

    if isinstance(result, LimitsRefusal):
        print(_wrap(result.message, "REFUSED: "))
        return
    print(
        f"depth  {format_mm(result.depth_min.value)} – {format_mm(result.depth_max.value)}, "
        f"starts at {format_mm(result.start_depth_um)}"
    )
    _print_bound("min", result.depth_min)
    _print_bound("max", result.depth_max)
    if result.soft_depth_max is None:
        print("  soft  none           no allowed depth needs a confirmation")
    else:
        _print_bound("soft", result.soft_depth_max)
        print(_wrap(f"reason shown: {result.soft_depth_max.reason}", " " * 34))
    print(
        f"speed  {format_sps(result.speed_min.value)} – {format_sps(result.speed_max.value)}, "
        f"starts at {format_sps(result.start_speed_sps)}"
    )
    _print_bound("min", result.speed_min)
    _print_bound("max", result.speed_max)
    for note in (result.start_depth_note, result.start_speed_note, *result.notes):
        if note is not None:
            print(_wrap(note, "note: "))


def _print_bound(side: str, bound: Bound) -> None:
    print(_wrap(bound.sentence, f"  {side:<4}  {bound.shown:<13}  {bound.layer.value:<9}  "))
