"""The writer comes without the auditor's tools: a running session loads `controller.journal`
and never the verifier, the timeline or the reports (ARCHITECTURE.md §1)."""

from __future__ import annotations

import json
import subprocess
import sys

# A whole session through the writer, so an import made late (inside a function) counts too.
_SESSION = """
import json, sys, tempfile
import controller.journal
from controller.journal import CheckpointSigner, JournalWriter, SessionOpen
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

signer = CheckpointSigner(Ed25519PrivateKey.from_private_bytes(bytes(32)))

opening = SessionOpen(
    operator_id="op:alice", patient_pseudonym="P-1", device_serial="PEN-1",
    firmware_version="1.0", cartridge_serial="CT-1", cartridge_lot="LOT-1",
    profile_name="face", profile_sha256="3f" * 32, policy_sha256="a7" * 32,
    software_version="0.1.0",
)
with tempfile.TemporaryDirectory() as directory:
    for _ in range(2):  # the second open checks and continues the first session's journal
        with JournalWriter.open(directory, signer=signer) as writer:
            writer.open_session(opening, "op:alice")
            writer.close_session("completed", "done", "op:alice")
print(json.dumps(sorted(m for m in sys.modules if m.startswith("controller"))))
"""


def test_the_writer_comes_without_the_auditors_tools() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _SESSION], capture_output=True, text=True, check=True
    )
    loaded = json.loads(out.stdout)
    assert "controller.journal.writer" in loaded, loaded
    auditors = [m for m in loaded if m.startswith("controller.journal.audit")]
    assert auditors == [], f"a session loaded the auditor's modules: {auditors}"
