"""Where things are in a TOML file: lines of array-of-tables headers and their keys.

tomllib reports a line only for syntax errors, so the rule and silence loaders
place their other errors with this index: the header line of each `[[name]]`
table, the line of each of its keys, and the lines of its sub-tables (given as
`[[name.sub]]` or as an inline array of tables). Dotted keys and multi-line
strings are not looked into.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

_TABLE = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\"' -]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(r"""^\s*["']?([A-Za-z0-9_-]+)["']?\s*=""")


@dataclass
class Block:
    """Where one `[[name]]` table's parts are in the file (1-based lines)."""

    header: int
    keys: dict[str, int] = field(default_factory=dict)  # top-level key -> its line
    subtables: list[int] = field(default_factory=list)  # line of each sub-table element


@dataclass
class Lines:
    """The blocks of one table name, and what stands outside them."""

    blocks: list[Block] = field(default_factory=list)
    top: dict[str, int] = field(default_factory=dict)  # keys/tables outside the blocks -> line


def _header(name: str) -> re.Pattern:
    parts = r"\s*\.\s*".join(re.escape(p) for p in name.split("."))
    return re.compile(rf"^\s*\[\[\s*{parts}\s*\]\]\s*(#.*)?$")


def index(text: str, name: str, sub: str | None = None) -> Lines:
    """Return the lines of the `[[name]]` tables in `text`, their keys and the
    elements of their `sub` array of tables."""
    head, sub_head = _header(name), _header(f"{name}.{sub}") if sub else None
    out, block, in_subtable = Lines(), None, False
    all_lines = text.splitlines()
    for no, line in enumerate(all_lines, start=1):
        if head.match(line):
            block, in_subtable = Block(no), False
            out.blocks.append(block)
        elif sub_head is not None and sub_head.match(line) and block is not None:
            block.subtables.append(no)
            in_subtable = True
        elif m := _TABLE.match(line):
            block, in_subtable = None, False
            out.top.setdefault(m.group(1).strip("\"' ").split(".")[0], no)
        elif (m := _KEY.match(line)) and not in_subtable:
            (block.keys if block is not None else out.top).setdefault(m.group(1), no)
    if sub:
        for b in out.blocks:
            if not b.subtables and sub in b.keys:
                b.subtables = inline_table_lines(all_lines, b.keys[sub])
    return out


def inline_table_lines(lines: list[str], start: int) -> list[int]:
    """Return the line of each `{` that opens an element of the array starting on `start`."""
    found, depth, braces, quote = [], 0, 0, ""
    for no in range(start, len(lines) + 1):
        text = lines[no - 1].split("=", 1)[1] if no == start else lines[no - 1]
        for ch in text:
            if quote:
                quote = "" if ch == quote else quote
            elif ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            elif ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
                if depth == 0:
                    return found
            elif ch == "{":
                if braces == 0 and depth == 1:
                    found.append(no)
                braces += 1
            elif ch == "}":
                braces -= 1
    return found


def syntax_error_at(text: str, e: tomllib.TOMLDecodeError) -> tuple[int, str]:
    """Return (line, what) for a tomllib syntax error, worded for a person."""
    msg = str(e)
    m = re.search(r"\(at line (\d+), column (\d+)\)", msg)
    if m:
        return int(m.group(1)), f"TOML syntax: {msg[:m.start()].strip()} (column {m.group(2)})"
    what = msg.replace("(at end of document)", "").strip()
    return max(1, text.count("\n") + 1), f"TOML syntax: {what} at end of file"
