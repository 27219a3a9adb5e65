"""Line numbers for keys: tomllib gives no positions, so errors need this scanner to point right."""

from __future__ import annotations

import json
import tomllib

from hypothesis import given
from hypothesis import strategies as st

from profiles.tomlpos import key_lines, line_of

TRICKY = '''# comment with = and [brackets]
name = "x" # trailing [not a table]
"quoted key" = 'literal'
a.b = 1
text = """multi
line = 3
[fake]
"""
arr = [
  1, # one
  "two", [3, 4],
]
inline = { p = 1, q = { r = 2 } }
[areas.forehead]
depth_max_mm = 1.5
[ areas . "cheek left" ]
x = 2
[[items]]
id = "a"
[items.sub]
y = 1
[[items]]
id = "b"
when = 1979-05-27 07:32:00Z
lit = \'\'\'a
b\'\'\'
escaped = "a\\"b = 2"
end = 1
'''


def test_every_kind_of_key_is_found_on_its_line() -> None:
    tomllib.loads(TRICKY)
    lines = key_lines(TRICKY)
    expected = {
        ("name",): 2,
        ("quoted key",): 3,
        ("a", "b"): 4,
        ("text",): 5,
        ("arr", 1): 11,
        ("inline", "q", "r"): 13,
        ("areas",): 14,
        ("areas", "forehead", "depth_max_mm"): 15,
        ("areas", "cheek left", "x"): 17,
        ("items", 0, "id"): 19,
        ("items", 0, "sub", "y"): 21,
        ("items", 1): 22,
        ("items", 1, "when"): 24,
        ("items", 1, "escaped"): 27,
        ("items", 1, "end"): 28,
    }
    assert {path: lines.get(path) for path in expected} == expected
    assert ("line",) not in lines and ("fake",) not in lines


def test_missing_keys_fall_back_to_their_table() -> None:
    lines = key_lines(TRICKY)
    assert line_of(lines, ("areas", "forehead", "depth_min_mm")) == 14
    assert line_of(lines, ("nowhere",)) is None


keys = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)
values = st.one_of(
    st.integers(-(10**6), 10**6),
    st.text(
        alphabet=st.characters(
            codec="utf-8", exclude_categories=["Cs", "Cc"], include_characters="\n\t"
        ),
        max_size=20,
    ),
    st.booleans(),
    st.lists(st.integers(0, 9), max_size=3),
)


@given(
    st.dictionaries(keys, values, max_size=5),
    st.dictionaries(keys, st.dictionaries(keys, values, min_size=1, max_size=4), max_size=4),
    st.integers(0, 2),
)
def test_generated_documents_map_every_key_to_its_line(
    top: dict[str, object], tables: dict[str, dict[str, object]], blank: int
) -> None:
    tables = {name: body for name, body in tables.items() if name not in top}
    out: list[str] = []
    where: dict[tuple[str, ...], int] = {}
    for key, value in top.items():
        out += [""] * blank
        where[(key,)] = _next_line(out)
        out.append(f"{key} = {_toml(value)}")
    for name, body in tables.items():
        out += ["# a comment = [x]"] * blank
        where[(name,)] = _next_line(out)
        out.append(f"[{name}]")
        for key, value in body.items():
            where[(name, key)] = _next_line(out)
            out.append(f"{key} = {_toml(value)}  # note")
    text = "\n".join(out) + "\n"
    tomllib.loads(text)
    lines = key_lines(text)
    assert {path: lines.get(path) for path in where} == where


def _next_line(chunks: list[str]) -> int:
    return sum(chunk.count("\n") + 1 for chunk in chunks) + 1


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if (
        isinstance(value, str)
        and "\n" in value
        and '"""' not in value
        and not value.endswith(("\\", '"'))
    ):
        return '"""' + value.replace("\\", "\\\\") + '"""'
    return json.dumps(value, ensure_ascii=False)
