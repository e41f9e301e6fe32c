"""The engine's rules in force: reloaded on change, the last good set kept on a bad edit."""

from __future__ import annotations

import logging
import os

import pytest

from onegrid.alerts.rules import RuleError
from onegrid.streams.rule_source import watch_rules

RULE = """
[[rule]]
id = "{id}"
kind = "threshold"
title_zh = "噪声"
title_en = "Noise"
metric = "{metric}"
stat = "mean"
window = "10m"
threshold = 75
clear = 70
"""


def write(path, text, bump):
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(bump * 10**9, bump * 10**9))  # a new mtime even within one tick


def test_an_edit_is_picked_up_and_a_bad_edit_keeps_the_last_good_set(tmp_path, demo_city,
                                                                      caplog):
    path = tmp_path / "rules.toml"
    write(path, RULE.format(id="noise", metric="noise_db"), 1)
    current = watch_rules(path, demo_city)
    assert [r.id for r in current().rules] == ["noise"]

    write(path, RULE.format(id="noise-v2", metric="noise_db"), 2)
    assert [r.id for r in current().rules] == ["noise-v2"]

    with caplog.at_level(logging.ERROR):
        write(path, RULE.format(id="broken", metric="vibes"), 3)
        assert [r.id for r in current().rules] == ["noise-v2"]
    assert any(f"{path}:" in m and "vibes" in m for m in caplog.messages)


def test_a_bad_rule_file_at_start_fails_with_file_and_line(tmp_path, demo_city):
    path = tmp_path / "rules.toml"
    write(path, RULE.format(id="x", metric="vibes"), 1)
    with pytest.raises(RuleError, match=rf"{path}:\d+: .*vibes"):
        watch_rules(path, demo_city)
