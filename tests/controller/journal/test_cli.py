"""`penctl audit`: exit codes exactly as documented, JSON shape, clear errors (S9, S10)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli import main
from controller.journal import JournalWriter, signing
from controller.journal.signing import PUBLIC_KEY_FILE, CheckpointSigner
from tests.controller.journal.helpers import (
    OPERATOR,
    ManualClock,
    fixed_signer,
    session_open,
    write_public_key,
    write_sample_journal,
)

DIMENSIONS = [
    "framing",
    "schema",
    "sequence",
    "chain",
    "links",
    "checkpoints",
    "termination",
    "key",
    "witness",
]
PENCTL = Path(sys.executable).with_name("penctl")


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cli") / "journal"
    write_sample_journal(directory, sessions=2)
    write_public_key(directory.parent / PUBLIC_KEY_FILE)
    shutil.copy(directory / "head.json", directory.parent / "witness-head.json")
    return directory


def _anchors(journal: Path) -> list[str]:
    """The fixed key pinned and a witness's copy of the head: what a PASS needs."""
    return [
        "--public-key",
        str(journal.parent / PUBLIC_KEY_FILE),
        "--witness",
        str(journal.parent / "witness-head.json"),
    ]


@pytest.fixture(autouse=True)
def _empty_trust_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PENCTL_TRUST_DIR", str(tmp_path / "trust"))


@pytest.fixture
def tampered(journal: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "tampered"
    copy.mkdir()
    for name in ("session-000001.jsonl", "session-000002.jsonl", "head.json"):
        (copy / name).write_bytes((journal / name).read_bytes())
    path = copy / "session-000001.jsonl"
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"depth_um":1000', b'"depth_um":1500', 1))
    return copy


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["audit", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_verify_passes_with_exit_0_and_reports_each_dimension(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "verify", str(journal), *_anchors(journal))
    assert code == 0
    for name in DIMENSIONS:
        assert f"  {name}" in out
    assert "PASS: every record is present" in out


def test_verify_fails_with_exit_1_naming_record_and_byte_offset(
    tampered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "verify", str(tampered))
    offset = (tampered / "session-000001.jsonl").read_bytes().index(b'"depth_um":1500')
    line_start = (tampered / "session-000001.jsonl").read_bytes().rindex(b"\n", 0, offset) + 1
    assert code == 1
    assert f"record 18, session-000001.jsonl byte {line_start}" in out
    assert "chain        FAIL" in out
    assert "keep the directory exactly as it is" in out


def test_verify_is_incomplete_with_exit_3_for_an_open_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_sample_journal(tmp_path / "j", sessions=1)
    with JournalWriter.open(tmp_path / "j", signer=fixed_signer(), clock=ManualClock()) as writer:
        writer.open_session(session_open(), OPERATOR)
    code, out, _ = _run(capsys, "verify", str(tmp_path / "j"))
    assert code == 3
    assert "termination  INCOMPLETE" in out and "start it once" in out


def test_verify_json_is_one_object_with_a_verdict(
    journal: Path, tampered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "verify", str(journal), "--json", *_anchors(journal))
    document = json.loads(out)
    assert code == 0 and document["verdict"] == "PASS"
    assert list(document["dimensions"]) == DIMENSIONS
    assert all(d["status"] == "pass" for d in document["dimensions"].values())
    total = sum(
        len((journal / f"session-00000{n}.jsonl").read_bytes().splitlines()) for n in (1, 2)
    )
    assert document["records"] == {"total": total, "first_seq": 1, "last_seq": total}
    code, out, _ = _run(capsys, "verify", str(tampered), "--json")
    document = json.loads(out)
    assert code == 1 and document["verdict"] == "FAIL"
    first = document["first_failure"]
    assert (first["dimension"], first["seq"], first["file"]) == (
        "chain",
        18,
        "session-000001.jsonl",
    )
    assert isinstance(first["offset"], int)


def test_verify_against_a_pinned_public_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = tmp_path / "keys"
    signer = CheckpointSigner.load_or_create(keys)
    with JournalWriter.open(tmp_path / "j", signer=signer) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer.close_session("completed", "done", OPERATOR)
    code, out, _ = _run(
        capsys, "verify", str(tmp_path / "j"), "--json", "--public-key", str(keys / PUBLIC_KEY_FILE)
    )
    assert code == 4 and json.loads(out)["pinned_key"] == signer.key_id
    assert json.loads(out)["dimensions"]["key"]["status"] == "pass"
    other = tmp_path / "other"
    CheckpointSigner.load_or_create(other)
    code, out, _ = _run(
        capsys, "verify", str(tmp_path / "j"), "--public-key", str(other / PUBLIC_KEY_FILE)
    )
    assert code == 1 and "not by the pinned key" in out


def test_the_pinned_key_is_compared_in_full_not_by_its_64_bit_key_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """key_id is 64 bits of SHA-256, short enough to collide on purpose; a journal signed by
    another key whose key_id equals the pinned key's must still fail `--public-key`."""
    monkeypatch.setattr(signing, "key_id", lambda raw: "c0111de5c0111de5")
    with JournalWriter.open(tmp_path / "j", signer=fixed_signer(seed=99)) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer.close_session("completed", "done", OPERATOR)
    genuine = tmp_path / "keys"
    CheckpointSigner.load_or_create(genuine)
    code, out, _ = _run(
        capsys, "verify", str(tmp_path / "j"), "--public-key", str(genuine / PUBLIC_KEY_FILE)
    )
    assert code == 1
    assert "not by the pinned key" in out and "c0111de5c0111de5" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["verify", "{missing}"], "does not exist; give a journal directory"),
        (["verify", "{empty}"], "holds no journal"),
        (["verify", "{journal}/head.json"], "is not a session file"),
        (
            ["verify", "{stray}"],
            "is not a session file: penctl expects a journal directory or one "
            "session-NNNNNN.jsonl file",
        ),
        (["show", "{journal}", "--session", "9"], "session 9 is not in"),
        (["report", "{journal}", "--format", "html", "-o", "{missing}/out.html"], "cannot write"),
        (["verify", "{journal}", "--public-key", "{missing}"], "cannot read public key"),
        (["verify", "{journal}", "--public-key", "{journal}/head.json"], "is not a PEM"),
    ],
)
def test_bad_input_is_a_clear_usage_error_with_exit_2(
    argv: list[str],
    message: str,
    journal: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes.txt").touch()
    values = {
        "missing": tmp_path / "missing",
        "empty": tmp_path / "empty",
        "journal": journal,
        "stray": tmp_path / "notes.txt",
    }
    code, out, err = _run(capsys, *(arg.format(**values) for arg in argv))
    assert code == 2
    assert message in err and err.startswith("penctl audit ")
    assert "Traceback" not in err + out


def test_s10_a_journal_that_cannot_be_listed_is_exit_2_with_path_cause_and_next_step(
    journal: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def listdir_fails(path: object) -> list[str]:
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(path))

    monkeypatch.setattr("controller.journal.audit.verifier.os.listdir", listdir_fails)
    code, out, err = _run(capsys, "verify", str(journal))
    assert code == 2 and out == ""
    assert f"cannot read the journal at {journal}: Input/output error" in err
    assert "nothing was verified or changed" in err and "Traceback" not in err


def test_argparse_usage_errors_exit_2(journal: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as missing_format:
        main(["audit", "report", str(journal)])
    assert missing_format.value.code == 2
    with pytest.raises(SystemExit) as no_action:
        main(["audit"])
    assert no_action.value.code == 2
    assert "--format" in capsys.readouterr().err


def test_show_prints_a_timeline_in_millimetres(
    journal: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = _run(capsys, "show", str(journal), "--session", "1")
    assert code == 0
    assert "Session 1 · 2026-03-02 10:00:00Z" in out
    assert "parameters v1 confirmed by the pen: forehead 0.50 mm, 110 strokes/s" in out
    assert "pass 1 over cheek left done in 1 min 00 s at 1.00 mm, 120 strokes/s" in out
    assert "MEDIUM alarm A-17" in out and "F-3 cleared: link cable reseated" in out
    assert "Session 2" not in out


def test_show_marks_the_tampered_record(tampered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = _run(capsys, "show", str(tampered))
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if "cheek left 1.50 mm" in line)
    assert "!! chain: content does not match its hash" in lines[at + 1]


def test_through_a_real_process_with_the_journal_dir_from_the_environment(
    journal: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "PENCTL_JOURNAL_DIR": str(journal)}
    done = subprocess.run(
        [str(PENCTL), "audit", "verify", "--json", *_anchors(journal)],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["input"]["path"] == str(journal)
    env["PENCTL_JOURNAL_DIR"] = str(tmp_path / "nowhere")
    done = subprocess.run([str(PENCTL), "audit", "show"], env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert "configured journal directory" in done.stderr and "Traceback" not in done.stderr


def test_a_fifo_in_place_of_a_journal_file_is_refused_not_opened(
    journal: Path, tmp_path: Path
) -> None:
    """Opening a FIFO for reading blocks until a writer appears: verify must never hang on one."""
    copy = tmp_path / "j"
    shutil.copytree(journal, copy)
    for name in ("session-000002.jsonl", "head.json"):
        (copy / name).unlink()
        os.mkfifo(copy / name)
    os.mkfifo(copy / "session-000002.jsonl.torn-40-0123456789ab")
    done = subprocess.run(
        [str(PENCTL), "audit", "verify", str(copy), "--json"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1, done.stderr
    framing = json.loads(done.stdout)["dimensions"]["framing"]["findings"]
    refused = {f["file"]: f["message"] for f in framing}
    for name in (
        "session-000002.jsonl",
        "head.json",
        "session-000002.jsonl.torn-40-0123456789ab",
    ):
        assert "is a FIFO, not a regular file; it was not opened" in refused[name]
    done = subprocess.run(
        [str(PENCTL), "audit", "verify", str(copy / "head.json")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "not a regular file" in done.stderr


def _rehash_first_record(directory: Path, name: str, **changes: object) -> None:
    """What anyone can do without the key: change a record and recompute its own hash."""
    from controller.journal.format import canonical_json, record_hash

    path = directory / name
    lines = path.read_bytes().splitlines(keepends=True)
    record = {**json.loads(lines[0]), **changes}
    record["hash"] = record_hash(record)
    path.write_bytes(canonical_json(record) + b"\n" + b"".join(lines[1:]))


@pytest.mark.parametrize("utc", ["2026-02-30T10:00:00.000000Z", "٢٠٢٦-03-02T10:00:00.000000Z"])
def test_s9_a_record_with_an_impossible_time_is_a_schema_failure_shown_not_a_crash(
    tampered: Path, capsys: pytest.CaptureFixture[str], utc: str
) -> None:
    _rehash_first_record(tampered, "session-000002.jsonl", utc=utc)
    code, out, err = _run(capsys, "verify", str(tampered), "--json")
    schema = json.loads(out)["dimensions"]["schema"]["findings"]
    assert code == 1 and any(
        f["file"] == "session-000002.jsonl" and f["offset"] == 0 for f in schema
    )
    for action, says in (
        (["show"], "FAIL"),
        (["report", "--format", "html"], "FAIL"),
        (["report", "--format", "csv"], "chain: content does not match its hash"),
    ):
        code, out, err = _run(capsys, *action, str(tampered))
        assert code == 0 and "Traceback" not in err, (action, err)
        assert says in out


def test_s9_show_prints_control_characters_from_records_as_escapes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A record must not drive the auditor's terminal: ESC sequences could clear the screen and
    print a fake PASS, a newline could fake a timeline line, a bidi override reverse the text."""
    from controller.journal import ChecklistAnswer

    hostile = "ok\x1b[2J\x1b[H\rVerification: PASS\n      9  10:00:00  op:bob  \u202eevil"
    with JournalWriter.open(tmp_path / "j", signer=fixed_signer()) as writer:
        writer.open_session(session_open(), OPERATOR)
        writer.append(
            ChecklistAnswer(item_id="x", question="Skin intact", answer="yes", note=hostile),
            OPERATOR,
        )
        writer.close_session("completed", "done", OPERATOR)
    code, out, _ = _run(capsys, "show", str(tmp_path / "j"))
    assert code == 0
    assert not any(char in out for char in "\x1b\r\u202e")
    assert "(ok\\u001b[2J\\u001b[H\\u000dVerification: PASS\\u000a      9  10:00:00" in out
    assert not any(line.startswith("      9") for line in out.splitlines())
