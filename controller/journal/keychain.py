"""The key in force along a journal: the first signature's key, then each hand-over's new key.

A journal's signing key changes only through a KEY_HANDOVER record signed by the key in force
(docs/journal.md §4), so trust runs forward from the first key, the one an auditor pins. The
writer's recovery and the verifier apply these rules through this one class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from controller.journal.format import Record
from controller.journal.records import KeyHandover
from controller.journal.signing import key_id, verify_handover


def short(public_key: str) -> str:
    return key_id(bytes.fromhex(public_key))


@dataclass
class KeyChain:
    """Follows records in journal order; `in_force` is None until the first signature."""

    in_force: str | None = None
    keys: list[str] = field(default_factory=list)  # every key that has been in force, in order
    handed_over: list[tuple[str, str]] = field(default_factory=list)  # (old, new) accepted

    def follow(self, record: Record, before: Record | None) -> str | None:
        """One record (`before` is the one before it); returns why it breaks the chain of keys,
        or None. A refused hand-over leaves the old key in force."""
        if record.type == "CHECKPOINT":
            return self._signed_by(record.data["public_key"], "checkpoint")
        if record.type == "KEY_HANDOVER":
            return self._hand_over(KeyHandover.model_validate(record.data), before)
        return None

    def _signed_by(self, public_key: str, what: str) -> str | None:
        if self.in_force is None:
            self._enter(public_key)
            return None
        if public_key == self.in_force:
            return None
        same = short(public_key) == short(self.in_force)
        same_id = " (the same key_id, another key)" if same else ""
        return (
            f"{what} signed by key {short(public_key)}{same_id}, but the key in force is "
            f"{short(self.in_force)}: a journal's key changes only with a KEY_HANDOVER record "
            "signed by the key in force"
        )

    def _hand_over(self, handover: KeyHandover, before: Record | None) -> str | None:
        if before is None or (before.seq, before.hash) != (
            handover.covers_seq,
            handover.covers_hash,
        ):
            return (
                f"key hand-over covers record {handover.covers_seq}, which is not the record "
                "right before it (replayed or moved)"
            )
        problem = verify_handover(handover)
        if problem is not None:
            return f"key hand-over is not genuine: {problem}"
        problem = self._signed_by(handover.old_public_key, "key hand-over")
        if problem is not None:
            return problem
        self.handed_over.append((handover.old_public_key, handover.new_public_key))
        self._enter(handover.new_public_key)
        return None

    def _enter(self, public_key: str) -> None:
        self.in_force = public_key
        if public_key not in self.keys:
            self.keys.append(public_key)

    def reached_from(self, trusted: set[str] | dict[str, str]) -> set[str]:
        """The trusted keys and every key a valid hand-over chain from one of them reached."""
        reached = set(trusted)
        for old, new in self.handed_over:
            if old in reached:
                reached.add(new)
        return reached
