"""The environment page's player: the slider's step after play/pause, a tick of the player
or a new replay, and the slider's last hour as the clock moves on or a replay holds it.

Pure decisions over plain values (and the context's clock); `pages.environment`
wires them to the play button, the `dcc.Interval` and the anchor store.
"""

from __future__ import annotations

from typing import Any, Final

from dash import no_update
from dash.exceptions import PreventUpdate

from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.pages import environment_episodes as episodes
from onegrid.dashboard.pages import environment_side as side
from onegrid.dashboard.queries import air_windows as windows
from onegrid.dashboard.queries import environment as reads
from onegrid.dashboard.views.environment import W

PLAY: Final = "env-play"
PLAYER: Final = "env-player"
LAST: Final = windows.STEPS - 1


def play(trigger: str | None, step: int | None, stopped: bool | None, lang: str | None,
         span: tuple[int, int] | None = None,
         drawn: int | None = None) -> tuple[Any, bool, str]:
    """Return (slider step, player stopped, button text) after a press of play/pause
    (`trigger` PLAY), a tick of the player (PLAYER) or a new replay (REPLAY).

    Play from the last step starts over from the first; the player stops itself at the
    last step. With a replay (`span`, its first and last steps), a new replay jumps to its
    first hour and plays; within its hours the player stops at its last, and play from
    its last hour plays it again. A replay of one hour only jumps; no replay (back to
    the last 24 hours) goes to the last step.

    A tick moves on only once the map has drawn the slider's step (`drawn`, the step of
    the values it holds; None: not known, move on). On a server slower than the player,
    ticking regardless would ask for each step before the last one came back, Dash
    drops the request under way when the same callback is asked again, and the map
    would freeze for the whole playback; waiting plays every hour, only slower.
    """
    step = step if isinstance(step, int) and 0 <= step <= LAST else LAST
    if trigger == episodes.REPLAY:
        if span is None:
            return LAST, True, W(lang, "play")
        one = span[0] >= span[1]
        return span[0], one, W(lang, "play" if one else "pause")
    inside = span is not None and span[0] <= step <= span[1]
    if trigger == PLAY:
        if stopped is False:
            return no_update, True, W(lang, "play")
        if inside and step >= span[1]:
            return span[0], False, W(lang, "pause")
        return (0 if step >= LAST else no_update), False, W(lang, "pause")
    if trigger == PLAYER and stopped is False:
        if drawn is not None and drawn != step:
            raise PreventUpdate  # the map is still drawing this hour
        stop_at = span[1] if inside else LAST
        nxt = min(step + 1, stop_at)
        done = nxt >= stop_at
        return nxt, done, W(lang, "play" if done else "pause")
    raise PreventUpdate


def follow(ctx: DashboardContext, anchor: str | None, replay: dict | None = None,
           trigger: str | None = None) -> tuple[str, dict[int, str]]:
    """Return (the slider's last hour, its labels): a replay's own (`trigger` REPLAY), or,
    on a tick, the new last hour once the clock has passed into one, unless a replay
    holds the slider on earlier hours. PreventUpdate when nothing moves."""
    held = replay.get("anchor") if isinstance(replay, dict) else None
    if trigger == episodes.REPLAY:
        end = reads.anchor_of(ctx, held)
    elif held:
        raise PreventUpdate
    else:
        end = reads.anchor_of(ctx, None)
    if anchor == end.isoformat():
        raise PreventUpdate
    return end.isoformat(), side.slider_marks(ctx, end)
