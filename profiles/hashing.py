"""Content hashes for the journal: "profile name and content hash, policy hash".

The hash covers the validated content in code units, not the file's bytes, so comments and layout
do not change it while any figure, note or name does. Defaults are left out, so adding an optional
key to the format later leaves existing hashes unchanged.
"""

from __future__ import annotations

import hashlib
import json

from pydantic import BaseModel


def canonical_json(model: BaseModel) -> str:
    content = model.model_dump(mode="json", exclude_defaults=True)
    document = {"penctl": type(model).__name__, "content": content}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(model: BaseModel) -> str:
    """`sha256:<64 hex>` of the model's canonical JSON."""
    return "sha256:" + hashlib.sha256(canonical_json(model).encode("utf-8")).hexdigest()
