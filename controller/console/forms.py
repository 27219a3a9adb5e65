"""The workflow's forms: intake and screening, consent, preparation, aftercare and the summary.

Choices come from the policy and the library (never free text where a list exists). Each form
turns what the practitioner entered into one controller action; the controller decides and the
banner or the refusal line says why when it says no.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, SelectionList, Static

from controller import actions as act
from controller.console.widgets import Cached
from controller.durations import ceil_s, min_s
from controller.journal.paths import resolve_journal_dir
from controller.snapshot import Snapshot
from profiles import Library

Submit = Callable[[act.Action], None]


class IntakeForm(VerticalScroll):
    def __init__(self, library: Library, submit: Submit, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._library = library
        self._submit = submit

    def compose(self) -> ComposeResult:
        policy = self._library.policy
        profiles = [(e.profile.title, name) for name, e in sorted(self._library.profiles.items())]
        yield Label("Intake and screening", classes="heading")
        yield Input(placeholder="patient pseudonym (never a name)", id="patient")
        yield Select(profiles, prompt="profile (concern)", id="profile")
        yield Label("Areas to treat (from the profile):")
        yield SelectionList[str](id="areas")
        yield Select([(f"Fitzpatrick {n}", n) for n in range(1, 7)], prompt="skin type", id="skin")
        yield Select(
            [(lvl.label, key) for key, lvl in policy.levels.items()],
            prompt=f"practitioner level (default {policy.default_level})",
            id="level",
        )
        yield Label("Screening: tick every question answered YES", classes="heading")
        yield SelectionList[str](
            *[(f"[{c.kind.value}] {c.text}", key) for key, c in policy.contraindications.items()],
            id="answers",
        )
        yield Input(placeholder="note for each caution ticked (required if any)", id="notes")
        yield Input(placeholder="interval override reason (only if asked)", id="override")
        yield Button("Record intake", id="intake-submit", variant="primary")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "profile" or not isinstance(event.value, str):
            return
        entry = self._library.profiles.get(event.value)
        areas = self.query_one("#areas", SelectionList)
        areas.clear_options()
        if entry is not None:
            areas.add_options([(a.value, a.value) for a in entry.profile.areas])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id != "intake-submit":
            return
        policy = self._library.policy
        ticked = set(self.query_one("#answers", SelectionList).selected)
        note = self.query_one("#notes", Input).value.strip()
        profile = self.query_one("#profile", Select).value
        skin = self.query_one("#skin", Select).value
        level = self.query_one("#level", Select).value
        override = self.query_one("#override", Input).value.strip()
        self._submit(
            act.Intake(
                patient=self.query_one("#patient", Input).value.strip(),
                profile=profile if isinstance(profile, str) else "",
                areas=tuple(self.query_one("#areas", SelectionList).selected),
                skin_type=skin if isinstance(skin, int) else 0,
                answers={k: ("yes" if k in ticked else "no") for k in policy.contraindications},
                caution_notes={k: note for k in ticked if note},
                interval_override=override or None,
                level=level if isinstance(level, str) else None,
            )
        )


class ConsentForm(Vertical):
    def __init__(self, submit: Submit, expectations: tuple[str, ...], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._submit = submit
        self._expectations = expectations

    def compose(self) -> ComposeResult:
        yield Label("Expectations and consent", classes="heading")
        for line in self._expectations:
            yield Static(f"• {line}")
        yield Input(placeholder="consent form id", value="CF-MICRONEEDLING", id="form")
        yield Input(placeholder="form version", value="1", id="version")
        yield Select(
            [("written", "written"), ("electronic", "electronic"), ("verbal", "verbal")],
            value="written",
            id="method",
            allow_blank=False,
        )
        yield Input(placeholder="planned sessions", value="3", id="sessions")
        with Horizontal():
            yield Button("Consent given", id="consent-yes", variant="success")
            yield Button("Consent declined", id="consent-no", variant="error")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id not in ("consent-yes", "consent-no"):
            return
        sessions = self.query_one("#sessions", Input).value.strip()
        method = self.query_one("#method", Select).value
        self._submit(
            act.Consent(
                form_id=self.query_one("#form", Input).value.strip() or "consent",
                form_version=self.query_one("#version", Input).value.strip() or "1",
                method=method if isinstance(method, str) else "written",  # type: ignore[arg-type]
                planned_sessions=int(sessions) if sessions.isdigit() and int(sessions) else 3,
                given=event.button.id == "consent-yes",
            )
        )


class PreparationForm(Vertical):
    def __init__(self, submit: Submit, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._submit = submit

    def compose(self) -> ComposeResult:
        yield Label("Preparation", classes="heading")
        yield Static("", id="checklist")
        yield Input(placeholder="numbing agent", value="lidocaine 5% cream", id="agent")
        with Horizontal():
            yield Button("Skin cleansed", id="prep-cleanse")
            yield Button("Numbing on", id="prep-numb")
            yield Button("Numbing off", id="prep-unnumb")
        with Horizontal():
            yield Button("Check cartridge", id="prep-cartridge")
            yield Button("Begin treatment", id="prep-begin", variant="primary")

    def show(self, snap: Snapshot) -> None:
        lines = [
            f"{'☑' if done else '☐'} {item.replace('_', ' ')}"
            for item, done in snap.checklist.items()
        ]
        if snap.numbing_remaining_ms is not None:
            left_s = ceil_s(snap.numbing_remaining_ms * 1_000_000)
            lines.append(
                f"numbing dwell: {min_s(left_s)} left"
                if left_s
                else "numbing dwell reached: remove the cream"
            )
        self.query_one("#checklist", Static).update("\n".join(lines))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        agent = self.query_one("#agent", Input).value.strip() or "numbing cream"
        action: act.Action | None = {
            "prep-cleanse": act.Cleanse(),
            "prep-numb": act.ApplyNumbing(agent=agent),
            "prep-unnumb": act.RemoveNumbing(),
            "prep-cartridge": act.CheckCartridge(),
            "prep-begin": act.BeginTreatment(),
        }.get(event.button.id or "")
        if action is not None:
            self._submit(action)


class AftercareForm(Vertical):
    def __init__(self, submit: Submit, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._submit = submit

    def compose(self) -> ComposeResult:
        yield Label("Aftercare", classes="heading")
        yield Label("Immediate effects observed:")
        yield SelectionList[str](
            ("redness", "redness"),
            ("swelling", "swelling"),
            ("pinpoint bleeding", "pinpoint_bleeding"),
            id="effects",
        )
        yield Input(placeholder="aftercare sheet id", value="AC-1", id="sheet")
        yield Button(
            "Instructions given: close the session", id="aftercare-done", variant="primary"
        )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "aftercare-done":
            effects = tuple(self.query_one("#effects", SelectionList).selected)
            sheet = self.query_one("#sheet", Input).value.strip() or "aftercare"
            self._submit(act.Aftercare(sheet_id=sheet, sheet_version="1", effects=effects))  # type: ignore[arg-type]


def report_command(journal_dir: str | None, session: int | None) -> str:
    """The command that writes this session's HTML report, ready to paste: the journal directory
    is named unless it is the one `penctl audit` finds by itself."""
    where = ""
    if journal_dir and Path(journal_dir).resolve() != resolve_journal_dir().resolve():
        where = f" {shlex.quote(journal_dir)}"
    if session is None:
        return f"penctl audit report{where} --format html -o report.html"
    return (
        f"penctl audit report{where} --session {session} --format html "
        f"-o session-{session:06d}.html"
    )


def _passes(count: int) -> str:
    return f"{count} pass" if count == 1 else f"{count} passes"


class Summary(Cached):
    """The closed session, repainted only when it changes (it is shown at every snapshot)."""

    _report: tuple[tuple[str | None, int | None], str] | None = None

    def show(self, snap: Snapshot) -> None:
        areas = (
            ", ".join(f"{a.area} ({_passes(a.passes)}, {a.time_ms // 1000} s)" for a in snap.areas)
            or "none"
        )
        self.paint(
            f"Session {snap.step.value} for {snap.patient or '-'} ({snap.profile or '-'}).\n"
            f"Areas: {areas}.\nFollow-up: {snap.follow_up or 'not set'}.\n"
            f"Journal head {snap.head_fingerprint}: write it on the paper record; "
            f"`penctl audit verify --witness {snap.head_fingerprint}` fails a rolled-back "
            "journal.\n"
            + (f"Witness not updated: {snap.witness_error}.\n" if snap.witness_error else "")
            + f"Report: {self._report_command(snap)}\n"
            "Press I for the next patient's intake."
        )

    def _report_command(self, snap: Snapshot) -> str:
        """Worked out once per journal and session: it resolves paths on the file system."""
        key = (snap.journal_dir, snap.session_number)
        if self._report is None or self._report[0] != key:
            self._report = (key, report_command(*key))
        return self._report[1]
