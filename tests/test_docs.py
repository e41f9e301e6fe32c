"""Every error code and every CLI command is documented where users look."""

from __future__ import annotations

from pathlib import Path

from onegrid.cli import build_parser
from onegrid.streams.contract import ErrorCode

ROOT = Path(__file__).resolve().parent.parent


def test_every_error_code_is_documented():
    text = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    missing = [c.value for c in ErrorCode if f"`{c.value}`" not in text]
    assert not missing, f"document these codes in docs/contract.md: {missing}"


def test_every_cli_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    missing = [name for name in sub.choices if f"`onegrid {name}" not in readme]
    assert not missing, f"document these commands in README.md: {missing}"


def test_readme_first_screen_has_the_two_commands():
    first = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:15])
    assert "onegrid up" in first and "bash .ci/run" in first
    assert ".venv/bin/python -m pytest" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
