"""The worked example journal of docs/journal-example/, written deterministically.

`python -m tests.controller.journal.example docs/journal-example` rewrites it;
test_doc_recipes.py checks that the committed copy is byte for byte what this writes, and runs the
doc's shell recipes against it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from controller.journal import ChecklistAnswer, JournalWriter, NeedleStart, NeedleStop
from tests.controller.journal.helpers import (
    AT_CLOSE_ONLY,
    OPERATOR,
    ManualClock,
    fixed_signer,
    session_open,
    write_public_key,
)

# Every kind of character a record can hold: quotes, backslash, controls, DEL, non-ASCII, an
# astral-plane emoji and U+2028, which JavaScript once could not hold in a string literal.
AWKWARD_NOTE = 'said "fine" \\ tab\there\nnew line \x01 \x7f é 😀 \u2028 end'


HANDOVER_REASON = "the yearly rotation of the clinic's journal key"


def write_example(directory: Path) -> None:
    """Two short sessions signed by the fixed key, then a hand-over to another key; the
    witness's copy of the head and the first key's public key beside."""
    if directory.exists():
        shutil.rmtree(directory)
    clock = ManualClock()
    with JournalWriter.open(
        directory,
        signer=fixed_signer(),
        clock=clock,
        checkpoints=AT_CLOSE_ONLY,
        witness=directory / "witness",
    ) as writer:
        writer.open_session(session_open(), OPERATOR)
        clock.advance(12.25)
        writer.append(
            ChecklistAnswer(
                item_id="skin-intact", question="Skin intact?", answer="yes", note=AWKWARD_NOTE
            ),
            OPERATOR,
        )
        clock.advance(30)
        writer.append(
            NeedleStart(param_version=1, area="forehead", depth_um=500, speed_sps=110), OPERATOR
        )
        clock.advance(45)
        writer.append(NeedleStop(reason="operator", sent_mono_ns=clock.mono - 1_500_000), OPERATOR)
        writer.close_session("completed", "all planned areas treated", OPERATOR)
        clock.advance(86_400)
        writer.open_session(session_open("P-0043"), OPERATOR)
        clock.advance(5)
        writer.close_session("aborted", "patient asked to stop", OPERATOR)
        clock.advance(3600)
        writer.rotate_key(fixed_signer(seed=8), HANDOVER_REASON, OPERATOR)
    (directory / ".lock").unlink()
    write_public_key(directory / "journal-ed25519.pub.pem")


if __name__ == "__main__":
    write_example(Path(sys.argv[1]))
