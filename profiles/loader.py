"""Reading profile, policy and area files, and assembling the library a session uses.

Checking never stops at the first problem: every file yields every issue it has, as `Issue`s with
file, line, field, value and reason. Loading is all or nothing: one bad file in a clinic directory
makes `load_library` raise `LibraryError` with all the issues, because falling back to a bundled
profile the clinic meant to change would pass bad input silently (S9).

File kinds go by name: `policy.toml` or `*.policy.toml` is a clinic policy, `areas.toml` or
`*.areas.toml` an area catalogue, any other `*.toml` a treatment profile.
"""

from __future__ import annotations

import functools
import os
import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from profiles.directory import Skipped, scan
from profiles.hashing import content_hash
from profiles.issues import Issue, field_on_line, issues_from, show_value, toml_issue
from profiles.limits import EffectiveLimits, LimitsRefusal, effective_limits, refusal
from profiles.loosening import LoosenedFigure, loosened_figures, loosening_issues
from profiles.models import AreaCatalogue, ClinicPolicy, DeviceLimits, Profile
from profiles.names import NameKind, UnknownName, find_name, unknown_sentence
from profiles.rawtext import line_endings, long_number, nesting
from profiles.slips import policy_warnings
from profiles.tomlpos import key_lines, line_of
from profiles.units import format_mm, mm_text
from profiles.vocabulary import Area, Concern

CLINIC_DIR_ENV = "PENCTL_CLINIC_DIR"
"""Environment variable naming the clinic's own profile directory (the --clinic-dir option wins)."""


class FileKind(StrEnum):
    PROFILE = "profile"
    POLICY = "policy"
    AREAS = "areas"


_MODELS: dict[FileKind, type[BaseModel]] = {
    FileKind.PROFILE: Profile,
    FileKind.POLICY: ClinicPolicy,
    FileKind.AREAS: AreaCatalogue,
}

_EMPTY = {
    FileKind.PROFILE: "a profile needs name, title, concern, description and at least one "
    "[areas.NAME] table",
    FileKind.POLICY: "a policy needs name, soft_depth_max_mm, levels, min_interval_days, "
    "numbing and contraindications",
    FileKind.AREAS: "an area catalogue needs one [areas.NAME] table per area",
}


def kind_of(path: str | os.PathLike[str]) -> FileKind:
    name = Path(path).name
    if name == "policy.toml" or name.endswith(".policy.toml"):
        return FileKind.POLICY
    if name == "areas.toml" or name.endswith(".areas.toml"):
        return FileKind.AREAS
    return FileKind.PROFILE


def model_for(kind: FileKind) -> type[BaseModel]:
    return _MODELS[kind]


@dataclass(frozen=True)
class Checked:
    """The outcome of checking one file: the model when valid, else every issue found."""

    file: str
    kind: FileKind
    model: BaseModel | None
    issues: tuple[Issue, ...]
    data: Mapping[str, Any] = field(default_factory=dict, repr=False)
    lines: Mapping[tuple[str | int, ...], int] = field(default_factory=dict, repr=False)
    warnings: tuple[Issue, ...] = ()
    """Figures allowed but likely a unit slip; they never stop a file from loading."""

    @property
    def ok(self) -> bool:
        return not self.issues


def check_text(
    content: bytes | str, file: str, kind: FileKind, areas: AreaCatalogue | None = None
) -> Checked:
    """Parse and validate one document; profiles are also checked against `areas` when given."""
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = content[: exc.start].count(b"\n") + 1
            reason = (
                f"not UTF-8 text (byte 0x{content[exc.start]:02x} at offset {exc.start}); "
                "save the file as UTF-8"
            )
            return Checked(file, kind, None, (Issue(file, line, "(file)", "(binary)", reason),))
    else:
        text = content
    text = text.removeprefix("\ufeff")

    def failed(*issues: Issue) -> Checked:
        return Checked(file, kind, None, tuple(issues))

    if not text.strip():
        return failed(Issue(file, 1, "(file)", "(empty)", f"the file is empty; {_EMPTY[kind]}"))
    data = _parse(text, file)
    if isinstance(data, Issue):
        return failed(data)
    if not data:
        return failed(
            Issue(file, 1, "(file)", "(empty)", f"the file has only comments; {_EMPTY[kind]}")
        )
    lines = key_lines(text)
    model_type = _MODELS[kind]
    try:
        model = model_type.model_validate(data)
    except ValidationError as exc:
        return failed(*issues_from(exc, model_type, file, lines))
    issues: list[Issue] = []
    if isinstance(model, Profile) and areas is not None:
        issues = _against_catalogue(model, areas, file, lines)
    warnings = policy_warnings(model, file, lines) if isinstance(model, ClinicPolicy) else []
    return Checked(
        file, kind, None if issues else model, tuple(issues), data, lines, tuple(warnings)
    )


def _parse(text: str, file: str) -> dict[str, Any] | Issue:
    """The TOML document, or the one issue that stops it being read; never an exception."""
    for find in (line_endings, nesting, long_number):
        problem = find(text)
        if problem is not None:
            field_name = "(file)" if find is line_endings else field_on_line(text, problem.line)
            return Issue(file, problem.line, field_name, problem.value, problem.reason)
    try:
        return tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        return toml_issue(str(exc), file, text)
    except (ValueError, RecursionError) as exc:
        # Guarded above; kept so that no parser limit can ever escape as a traceback.
        reason = f"cannot be read as TOML ({type(exc).__name__}); check for a typo"
        return Issue(file, 1, "(file)", "(unreadable)", reason)


def _against_catalogue(
    profile: Profile, areas: AreaCatalogue, file: str, lines: dict[Any, int]
) -> list[Issue]:
    """A profile may not promise what an area forbids: it would be cut back without notice."""
    issues: list[Issue] = []
    for area, settings in profile.areas.items():
        spec = areas.spec(area)
        if settings.depth_max_um > spec.depth_max_um:
            path = ("areas", area.value, "depth_max_mm")
            issues.append(
                Issue(
                    file,
                    line_of(lines, path) or 1,
                    ".".join(path),
                    mm_text(settings.depth_max_um),
                    f"above the hard ceiling for the {spec.label}, {format_mm(spec.depth_max_um)}"
                    " (area catalogue); lower it to at most that",
                )
            )
        if settings.depth_default_um > spec.depth_soft_max_um:
            path = ("areas", area.value, "depth_default_mm")
            issues.append(
                Issue(
                    file,
                    line_of(lines, path) or 1,
                    ".".join(path),
                    mm_text(settings.depth_default_um),
                    f"above the soft ceiling for the {spec.label}, "
                    f"{format_mm(spec.depth_soft_max_um)} (area catalogue): a default must not "
                    "need a confirmation; lower it",
                )
            )
    return issues


def _read(path: Path | Traversable, shown: str, kind: FileKind) -> bytes | Checked:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        reason = "no such file; check the path"
    except IsADirectoryError:
        reason = "is a directory where a file was expected"
    except OSError as exc:
        reason = f"cannot be read ({exc.strerror or exc}); check its permissions"
    return Checked(shown, kind, None, (Issue(shown, None, "(file)", show_value(shown), reason),))


def check_file(
    path: str | os.PathLike[str],
    kind: FileKind | None = None,
    areas: AreaCatalogue | None = None,
) -> Checked:
    """Check one file; profiles are checked against the bundled area catalogue by default."""
    shown = os.fspath(path)
    kind = kind or kind_of(shown)
    content = _read(Path(shown), shown, kind)
    if isinstance(content, Checked):
        return content
    if kind is FileKind.PROFILE and areas is None:
        areas = _bundled().areas
    checked = check_text(content, shown, kind, areas)
    if isinstance(checked.model, ClinicPolicy):
        issues = loosening_issues(
            checked.model, _bundled().policy, shown, checked.data, checked.lines
        )
        if issues:
            return Checked(shown, kind, None, tuple(issues), checked.data, checked.lines)
    return checked


@dataclass(frozen=True)
class DirectoryCheck:
    """A clinic directory checked by the rules loading applies, so what validates also loads."""

    results: tuple[Checked, ...]
    """One per entry read or blocked, with the directory's rules folded into its issues."""
    skipped: tuple[Skipped, ...]
    """Entries not read, each with the reason (notes, not problems)."""

    @property
    def issues(self) -> tuple[Issue, ...]:
        return tuple(issue for result in self.results for issue in result.issues)

    @property
    def warnings(self) -> tuple[Issue, ...]:
        return tuple(warning for result in self.results for warning in result.warnings)

    @property
    def policy(self) -> Checked | None:
        return next((r for r in self.results if isinstance(r.model, ClinicPolicy)), None)

    @property
    def profiles(self) -> tuple[Checked, ...]:
        return tuple(r for r in self.results if isinstance(r.model, Profile))


def check_directory(
    directory: Path, areas: AreaCatalogue | None = None, kind: FileKind | None = None
) -> DirectoryCheck:
    """Every entry of a clinic directory: the files read (each checked, an area catalogue or a
    second policy refused, profile names unique), the entries blocked and those skipped. The
    bundled library's own directory may hold the area catalogue."""
    found = scan(directory)
    bundled = directory.resolve() == Path(str(bundled_dir())).resolve()
    areas = _bundled().areas if areas is None else areas
    results = [Checked(issue.file, FileKind.PROFILE, None, (issue,)) for issue in found.blocked]
    policy_file: str | None = None
    for path in found.files:
        refused = None if kind is not None or bundled else _refused_in_directory(path)
        if refused is not None:
            results.append(Checked(str(path), kind_of(path), None, (refused,)))
            continue
        checked = check_file(path, kind, areas)
        if isinstance(checked.model, ClinicPolicy):
            if policy_file is not None:
                reason = f"a second clinic policy (the first is {policy_file}); keep one"
                issue = Issue(str(path), 1, "(file)", "(policy)", reason)
                checked = Checked(checked.file, checked.kind, None, (issue,))
            else:
                policy_file = checked.file
        results.append(checked)
    by_name = sorted(_unique_names(results), key=lambda result: Path(result.file).name)
    return DirectoryCheck(tuple(by_name), found.skipped)


_POLICY_WORD = re.compile(r"(?:^|[-_. ])policy(?:$|[-_. ])")
"""`policy` as a word of a file name (`Policy.toml`, `clinic-policy.toml`), not inside another."""


def _refused_in_directory(path: Path) -> Issue | None:
    """An area catalogue, or a file named like a policy that would be read as a profile."""
    kind, lower = kind_of(path), path.name.lower()
    if kind is FileKind.AREAS or lower == "areas.toml" or lower.endswith(".areas.toml"):
        return Issue(
            str(path),
            1,
            "(file)",
            "(area catalogue)",
            "area ceilings ship with penctl and cannot be replaced or loosened by a clinic; "
            "narrow an area in your profiles or with caps in policy.toml, and remove this file",
        )
    if kind is FileKind.PROFILE and _POLICY_WORD.search(lower[: -len(".toml")]):
        rest = re.sub("policy", "", path.name[: -len(".toml")], flags=re.IGNORECASE)
        rest = rest.strip("-_. ")
        better = f"{rest}.policy.toml" if rest else "policy.toml"
        return Issue(
            str(path),
            1,
            "(file)",
            "(policy?)",
            "named like a clinic policy, but only policy.toml or NAME.policy.toml is read as "
            f"one (this name would be read as a profile); rename it to {better}",
        )
    return None


def check_paths(paths: Sequence[str], kind: FileKind | None = None) -> list[Checked]:
    """Check files and directories (a directory by the rules loading applies)."""
    return list(validate_paths(paths, kind).results)


def validate_paths(paths: Sequence[str], kind: FileKind | None = None) -> DirectoryCheck:
    """`penctl profiles validate`: files as given, directories as `load_library` reads them."""
    results: list[Checked] = []
    skipped: list[Skipped] = []
    for given in paths:
        target = Path(given)
        if target.is_dir():
            checked = check_directory(target, kind=kind)
            results += checked.results
            skipped += checked.skipped
        else:
            results.append(check_file(target, kind))
    return DirectoryCheck(tuple(results), tuple(skipped))


def _unique_names(results: list[Checked]) -> list[Checked]:
    seen: dict[str, str] = {}
    out: list[Checked] = []
    for result in results:
        if isinstance(result.model, Profile):
            name = result.model.name
            if name in seen:
                issue = Issue(
                    result.file,
                    line_of(result.lines, ("name",)) or 1,
                    "name",
                    show_value(name),
                    f"also the name of {seen[name]}; each profile in a directory needs its "
                    "own name",
                )
                result = Checked(
                    result.file, result.kind, None, (issue,), result.data, result.lines
                )
            else:
                seen[name] = result.file
        out.append(result)
    return out


# ---- the library --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProfileEntry:
    profile: Profile
    file: str
    origin: str
    """"bundled" or "clinic"."""
    content_hash: str


@dataclass(frozen=True)
class Override:
    """A clinic file that replaced a bundled one of the same name."""

    kind: FileKind
    name: str
    file: str
    replaces: str

    def __str__(self) -> str:
        return (
            f"clinic {self.kind.value} {self.name} ({self.file}) overrides the bundled one "
            f"({self.replaces})"
        )


class LibraryError(Exception):
    """The library could not be assembled; `issues` lists every problem found."""

    def __init__(self, issues: Iterable[Issue]) -> None:
        self.issues = tuple(issues)
        count = len(self.issues)
        lines = "\n".join(str(issue) for issue in self.issues)
        super().__init__(
            f"{lines}\n{count} problem{'s' if count != 1 else ''} found; no profiles were "
            f"loaded. Fix {'them' if count != 1 else 'it'} (check with `penctl profiles "
            "validate DIR`) and try again."
        )


@dataclass(frozen=True)
class Library:
    """Everything a session needs from profiles: area ceilings, policy and named profiles."""

    areas: AreaCatalogue
    areas_file: str
    policy: ClinicPolicy
    policy_file: str
    policy_origin: str
    policy_hash: str
    profiles: Mapping[str, ProfileEntry]
    """The profiles a session may use."""
    disabled: Mapping[str, ProfileEntry] = field(default_factory=dict)
    """Profiles with `enabled = false` (e.g. no clinical evidence): listed, never used, until a
    clinic copies one into its directory with `enabled = true`."""
    overrides: tuple[Override, ...] = ()
    clinic_dir: str | None = None
    skipped: tuple[Skipped, ...] = ()
    """Entries of the clinic directory that were not read, each with the reason."""
    warnings: tuple[Issue, ...] = ()
    """Figures in the clinic's files that are allowed but look like a unit slip."""
    loosened: tuple[LoosenedFigure, ...] = ()
    """Bundled safety figures the clinic policy sets looser, each with its reason and who decided;
    a session journals them."""

    def entry(self, name: str) -> ProfileEntry | None:
        """The profile of exactly this name; `find_profile` for a name a person typed."""
        return self.profiles.get(name)

    def find_profile(self, name: str) -> ProfileEntry | UnknownName:
        """The profile a person named (`acne_scars` is `acne-scars`), or the closest names."""
        found = find_name(NameKind.PROFILE, name, tuple(self.profiles))
        return found if isinstance(found, UnknownName) else self.profiles[found]

    def why_off(self, name: str) -> str | None:
        """Why the profile a person named cannot be used because it is off, else None."""
        found = find_name(NameKind.PROFILE, name, tuple(self.disabled))
        if isinstance(found, UnknownName):
            return None
        entry = self.disabled[found]
        why = (entry.profile.evidence or "its file says enabled = false").rstrip(".")
        return (
            f"profile {found} is off: {why}. To use it, copy {entry.file} into the clinic "
            "directory and set enabled = true"
        )

    def find_area(self, name: str) -> Area | UnknownName:
        """The area a person named (`cheek-left` is `cheek_left`), or the closest names."""
        found = find_name(NameKind.AREA, name, tuple(area.value for area in Area))
        return found if isinstance(found, UnknownName) else Area(found)

    def find_concern(self, name: str) -> Concern | UnknownName:
        """The concern a person named (`acne-scars` is `acne_scars`), or the closest names."""
        found = find_name(NameKind.CONCERN, name, tuple(concern.value for concern in Concern))
        return found if isinstance(found, UnknownName) else Concern(found)

    def effective_limits(
        self,
        profile: str,
        area: Area | str,
        device: DeviceLimits,
        cartridge_max_um: int | None,
        level: str | None = None,
    ) -> EffectiveLimits | LimitsRefusal:
        """`profiles.effective_limits` by names as typed; unknown names are refusals, not
        exceptions, naming the closest known name."""
        entry = self.find_profile(profile)
        chosen_area = self.find_area(area)
        if isinstance(entry, UnknownName) or isinstance(chosen_area, UnknownName):
            unknown = [found for found in (entry, chosen_area) if isinstance(found, UnknownName)]
            return refusal(problems=tuple(unknown_sentence(name) for name in unknown))
        return effective_limits(
            device=device,
            cartridge_max_um=cartridge_max_um,
            area=chosen_area,
            areas=self.areas,
            profile=entry.profile,
            policy=self.policy,
            level=self.policy.default_level if level is None else level,
        )


def bundled_dir() -> Traversable:
    return resources.files("profiles").joinpath("library")


@dataclass(frozen=True)
class _Bundled:
    areas: AreaCatalogue
    areas_file: str
    policy: ClinicPolicy
    policy_file: str
    profiles: dict[str, ProfileEntry]


@functools.cache
def _bundled() -> _Bundled:
    """The shipped library, read once: it cannot change while penctl runs."""
    root = bundled_dir()
    files = sorted((f for f in root.iterdir() if f.name.endswith(".toml")), key=lambda f: f.name)
    areas_file = root.joinpath("areas.toml")
    area_check = _check_resource(areas_file, FileKind.AREAS, None)
    if not isinstance(area_check.model, AreaCatalogue):
        raise LibraryError(area_check.issues)
    areas = area_check.model
    issues: list[Issue] = []
    policy: ClinicPolicy | None = None
    profiles: list[Checked] = []
    for resource in files:
        kind = kind_of(resource.name)
        if kind is FileKind.AREAS:
            continue
        checked = _check_resource(resource, kind, areas)
        issues += checked.issues
        if isinstance(checked.model, ClinicPolicy):
            policy = checked.model
        elif checked.model is not None:
            profiles.append(checked)
    profiles = _unique_names(profiles)
    issues += [issue for result in profiles for issue in result.issues]
    if issues or policy is None:
        raise LibraryError(issues)
    return _Bundled(
        areas=areas,
        areas_file=str(areas_file),
        policy=policy,
        policy_file=str(root.joinpath("policy.toml")),
        profiles={
            entry.profile.name: entry
            for entry in (_entry(result, "bundled") for result in profiles)
        },
    )


def _check_resource(resource: Traversable, kind: FileKind, areas: AreaCatalogue | None) -> Checked:
    content = _read(resource, str(resource), kind)
    if isinstance(content, Checked):
        return content
    return check_text(content, str(resource), kind, areas)


def _entry(result: Checked, origin: str) -> ProfileEntry:
    assert isinstance(result.model, Profile)
    return ProfileEntry(result.model, result.file, origin, content_hash(result.model))


def resolve_clinic_dir(
    option: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None
) -> Path | None:
    """The clinic directory: the option if given, else $PENCTL_CLINIC_DIR, else none."""
    if option is not None:
        return Path(option)
    value = (os.environ if environ is None else environ).get(CLINIC_DIR_ENV, "")
    return Path(value) if value else None


def load_library(
    clinic_dir: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Library:
    """The bundled library with the clinic directory's files on top; raises `LibraryError`."""
    bundled = _bundled()
    directory = resolve_clinic_dir(clinic_dir, environ)
    if directory is not None and not directory.is_dir():
        how = "--clinic-dir" if clinic_dir is not None else f"${CLINIC_DIR_ENV}"
        raise LibraryError(
            [
                Issue(
                    str(directory),
                    None,
                    "(clinic directory)",
                    show_value(str(directory)),
                    f"is not a directory (set by {how}); create it, or point {how} at the "
                    "clinic's profile directory",
                )
            ]
        )
    clinic = _ClinicFiles() if directory is None else _check_clinic_dir(directory, bundled.areas)
    overrides: list[Override] = []
    policy, policy_file, policy_origin = bundled.policy, bundled.policy_file, "bundled"
    if clinic.policy is not None:
        clinic_policy, clinic_policy_file = clinic.policy
        overrides.append(Override(FileKind.POLICY, "policy", clinic_policy_file, policy_file))
        policy, policy_file, policy_origin = clinic_policy, clinic_policy_file, "clinic"
    profiles = dict(bundled.profiles)
    for result in clinic.profiles:
        entry = _entry(result, "clinic")
        replaced = profiles.get(entry.profile.name)
        if replaced is not None:
            overrides.append(
                Override(FileKind.PROFILE, entry.profile.name, entry.file, replaced.file)
            )
        profiles[entry.profile.name] = entry
    return Library(
        areas=bundled.areas,
        areas_file=bundled.areas_file,
        policy=policy,
        policy_file=policy_file,
        policy_origin=policy_origin,
        policy_hash=content_hash(policy),
        profiles={n: e for n, e in sorted(profiles.items()) if e.profile.enabled},
        disabled={n: e for n, e in sorted(profiles.items()) if not e.profile.enabled},
        overrides=tuple(overrides),
        clinic_dir=None if directory is None else str(directory),
        skipped=clinic.skipped,
        warnings=clinic.warnings,
        loosened=loosened_figures(policy, bundled.policy),
    )


@dataclass(frozen=True)
class _ClinicFiles:
    """A clinic directory's files, every one valid: at most one policy, profiles named once."""

    policy: tuple[ClinicPolicy, str] | None = None
    """The policy and its file."""
    profiles: tuple[Checked, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    warnings: tuple[Issue, ...] = ()


def _check_clinic_dir(directory: Path, areas: AreaCatalogue) -> _ClinicFiles:
    """Checks every file before any is used; raises `LibraryError` with every issue found."""
    checked = check_directory(directory, areas)
    if checked.issues:
        raise LibraryError(checked.issues)
    policy = checked.policy
    return _ClinicFiles(
        None if policy is None else (cast(ClinicPolicy, policy.model), policy.file),
        checked.profiles,
        checked.skipped,
        checked.warnings,
    )
