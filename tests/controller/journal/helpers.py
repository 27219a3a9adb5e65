"""Journals for the tests, written through the writer API the controller will use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from controller.journal import (
    Aftercare,
    Alarm,
    AreaPass,
    ChecklistAnswer,
    CheckpointSigner,
    Consent,
    Correction,
    Fault,
    FollowUp,
    JournalWriter,
    NeedleStart,
    NeedleStop,
    Numbing,
    OperatorAck,
    ParamsApplied,
    ParamsRequested,
    Photo,
    SessionOpen,
    StateChange,
)
from controller.journal.audit.anchors import WitnessHead, load_witness
from controller.journal.audit.verifier import VerificationReport, verify_path
from controller.journal.witness import CheckpointPolicy

# 2026-03-02T10:00:00Z
START_WALL_NS = 1_772_445_600_000_000_000
OPERATOR = "op:alice"


@dataclass
class ManualClock:
    """Virtual time: both clocks move only when a test says so."""

    wall: int = START_WALL_NS
    mono: int = 5_000_000_000

    def advance(self, seconds: float) -> None:
        step = round(seconds * 1_000_000_000)
        self.wall += step
        self.mono += step

    def wall_ns(self) -> int:
        return self.wall

    def monotonic_ns(self) -> int:
        return self.mono


# The sample journals keep their record numbers stable: signed at close only (test_anchors.py
# checks the default policy, which also signs during a session).
AT_CLOSE_ONLY = CheckpointPolicy(records=1_000_000, seconds=1_000_000)


def write_public_key(path: Path, seed: int = 7) -> Path:
    """The fixed signer's public key as a PEM file, as `penctl audit trust` and --public-key
    take it."""
    path.write_bytes(
        Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return path


def fixed_signer(seed: int = 7) -> CheckpointSigner:
    """A deterministic key, so the same script writes byte-identical journals."""
    return CheckpointSigner(Ed25519PrivateKey.from_private_bytes(bytes([seed]) * 32))


def session_open(patient: str = "P-0042", cartridge: str = "CT-2026-000117") -> SessionOpen:
    return SessionOpen(
        operator_id=OPERATOR,
        patient_pseudonym=patient,
        device_serial="PEN-SN-00042",
        firmware_version="1.4.2",
        cartridge_serial=cartridge,
        cartridge_lot="LOT-2602-A",
        profile_name="face-rejuvenation",
        profile_sha256="3f" * 32,
        policy_sha256="a7" * 32,
        software_version="0.1.0",
    )


def _treat(
    writer: JournalWriter,
    clock: ManualClock,
    *,
    version: int,
    area: str,
    depth_um: int,
    speed_sps: int,
    passes: int,
    pass_s: int,
) -> None:
    writer.append(
        ParamsRequested(param_version=version, area=area, depth_um=depth_um, speed_sps=speed_sps),
        OPERATOR,
    )
    clock.advance(0.2)
    writer.append(
        ParamsApplied(
            param_version=version,
            area=area,
            depth_um=depth_um,
            speed_sps=speed_sps,
            matches_request=True,
        ),
        "pen",
    )
    for number in range(1, passes + 1):
        clock.advance(3)
        writer.append(
            StateChange(machine="session", from_state="ready", to_state="running", trigger="start"),
            "controller",
        )
        writer.append(
            NeedleStart(param_version=version, area=area, depth_um=depth_um, speed_sps=speed_sps),
            OPERATOR,
        )
        clock.advance(pass_s)
        writer.append(NeedleStop(reason="operator", sent_mono_ns=clock.mono - 2_000_000), OPERATOR)
        writer.append(
            AreaPass(
                area=area,
                pass_number=number,
                duration_ms=pass_s * 1000,
                depth_um=depth_um,
                speed_sps=speed_sps,
            ),
            "controller",
        )


def write_treatment(writer: JournalWriter, clock: ManualClock, *, patient: str = "P-0042") -> None:
    """A face session: checks, consent, numbing, three areas, an alarm, a fault, aftercare."""
    writer.open_session(session_open(patient), OPERATOR)
    clock.advance(20)
    for item, question in (
        ("no-active-infection", "No active infection, herpes or open wound in the areas"),
        ("no-isotretinoin-6m", "No isotretinoin in the last 6 months"),
        ("not-pregnant", "Not pregnant or breastfeeding"),
    ):
        writer.append(ChecklistAnswer(item_id=item, question=question, answer="yes"), OPERATOR)
        clock.advance(4)
    writer.append(
        Consent(form_id="CF-MN-01", form_version="3", given=True, method="written"), OPERATOR
    )
    writer.append(
        Numbing(
            agent="lidocaine 5% cream",
            applied_at="2026-03-02T09:30:00Z",
            removed_at="2026-03-02T10:00:30Z",
        ),
        OPERATOR,
    )
    writer.append(
        Photo(phase="before", path="photos/P-0042/before-1.jpg", sha256="c4" * 32), OPERATOR
    )
    clock.advance(30)
    _treat(
        writer, clock, version=1, area="forehead", depth_um=500, speed_sps=110, passes=2, pass_s=45
    )
    _treat(
        writer,
        clock,
        version=2,
        area="cheek_left",
        depth_um=1000,
        speed_sps=120,
        passes=2,
        pass_s=60,
    )
    clock.advance(5)
    writer.append(
        Alarm(
            alarm_id="A-17",
            priority="medium",
            condition="telemetry_gap",
            message="3 telemetry frames missing; needle kept running, link still alive",
            raw_frames=["0a0143ff00", "0a0143ff01"],
        ),
        "controller",
    )
    clock.advance(8)
    writer.append(OperatorAck(subject="A-17", action="acknowledged"), OPERATOR)
    _treat(
        writer,
        clock,
        version=3,
        area="cheek_right",
        depth_um=1000,
        speed_sps=120,
        passes=1,
        pass_s=50,
    )
    clock.advance(4)
    writer.append(
        Fault(
            fault_id="F-3",
            cause="lease_expired",
            message="the pen reported its lease lapsed; needle stopped",
            raw_frames=["0b0244060100", "0b0244060200"],
        ),
        "pen",
    )
    clock.advance(10)
    writer.append(
        OperatorAck(subject="F-3", action="cleared", note="link cable reseated"), OPERATOR
    )
    writer.append(
        Correction(
            refers_to_seq=writer.last_seq - 1,
            field="message",
            before="the pen reported its lease lapsed; needle stopped",
            after="lease lapsed after a cable fault; needle stopped",
            reason="cause found on inspection",
        ),
        OPERATOR,
    )
    clock.advance(60)
    writer.append(
        Photo(phase="after", path="photos/P-0042/after-1.jpg", sha256="d5" * 32), OPERATOR
    )
    writer.append(Aftercare(sheet_id="AC-MN", sheet_version="2", method="printed"), OPERATOR)
    writer.append(FollowUp(date="2026-04-01", note="4-week review"), OPERATOR)
    clock.advance(10)
    writer.close_session("completed", "all planned areas treated", OPERATOR)


def write_sample_journal(directory: Path, sessions: int = 2) -> ManualClock:
    """`sessions` treatments a day apart, fixed key and clock: byte-identical output."""
    clock = ManualClock()
    with JournalWriter.open(
        directory, signer=fixed_signer(), clock=clock, checkpoints=AT_CLOSE_ONLY
    ) as w:
        for index in range(sessions):
            write_treatment(w, clock, patient=f"P-{42 + index:04d}")
            clock.advance(86_400)
    return clock


def write_compact_journal(directory: Path) -> None:
    """Two short sessions: small enough to flip every byte of, and still every kind of link."""
    clock = ManualClock()
    with JournalWriter.open(
        directory, signer=fixed_signer(), clock=clock, checkpoints=AT_CLOSE_ONLY
    ) as w:
        w.open_session(session_open(), OPERATOR)
        clock.advance(10)
        w.append(
            ChecklistAnswer(item_id="no-infection", question="No active infection", answer="yes"),
            OPERATOR,
        )
        _treat(
            w, clock, version=1, area="forehead", depth_um=500, speed_sps=110, passes=1, pass_s=30
        )
        w.close_session("completed", "done", OPERATOR)
        clock.advance(3600)
        w.open_session(session_open("P-0043"), OPERATOR)
        clock.advance(5)
        w.close_session("aborted", "patient asked to stop", OPERATOR)


def witness_now(directory: Path) -> WitnessHead:
    """What a witness holds after copying the journal's head.json now."""
    return load_witness(str(directory / "head.json"))


def anchored(directory: Path, **options: Any) -> VerificationReport:
    """Verified as an auditor who enrolled the fixed key and holds the current head as witness:
    the only way an intact journal reads PASS (docs/journal.md §7)."""
    return verify_path(
        directory,
        pinned_public_key=fixed_signer().public_key_hex,
        witnesses=[witness_now(directory)],
        **options,
    )
