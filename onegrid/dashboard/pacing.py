"""The shell's live tick, paced to the server: the tick waits while a live callback is
still answering the last one.

Why: Dash drops a request still under way when the same callback is asked again. On a
server slower than the tick (`refresh_ms`), every live answer would be dropped before it
landed and the live views would freeze. So the shell's clock (`CLOCK`) does not drive the
pages; a clientside pacer copies its count into `ids.TICK`, the tick the pages listen to,
only while no callback driven by it is running. Each such callback raises its own busy
flag (a store in the shell, through Dash's `running`) while it runs. A request lost to the
network never lowers its flag, so a flag holds the tick for at most `HOLD_LIMIT` clock
ticks.
"""

from __future__ import annotations

from typing import Final
from weakref import WeakKeyDictionary

from dash import Dash, Input, Output, State, dcc

from onegrid.dashboard import ids

CLOCK: Final = "shell-clock"
HOLD_LIMIT: Final = 15
_FLAGS: WeakKeyDictionary[Dash, list[str]] = WeakKeyDictionary()


def paced(app: Dash, inputs: list) -> dict:
    """Return the callback options that pace a callback listening to the tick (raise a busy
    flag of its own while it runs), or {} for one that does not listen to it."""
    if not any(isinstance(i, Input) and i.component_id == ids.TICK for i in inputs):
        return {}
    flags = _FLAGS.setdefault(app, [])
    flags.append(f"shell-busy-{len(flags)}")
    return {"running": [(Output(flags[-1], "data"), True, False)]}


def shell_parts(app: Dash, refresh_ms: int) -> list:
    """Return the shell's clock, the tick the pages listen to, and the busy flags."""
    return [dcc.Interval(id=CLOCK, interval=refresh_ms),
            dcc.Interval(id=ids.TICK, interval=refresh_ms, disabled=True, n_intervals=0),
            *[dcc.Store(id=flag, data=False) for flag in _FLAGS.get(app, [])]]


def install(app: Dash) -> None:
    """Register the pacer, once every page's callbacks are registered."""
    flags = _FLAGS.get(app, [])
    app.clientside_callback(
        f"""function (n) {{
            var busy = Array.prototype.slice.call(arguments, 1).some(Boolean);
            var held = window.onegridTickHeld || 0;
            if (busy && held < {HOLD_LIMIT}) {{
                window.onegridTickHeld = held + 1;
                return window.dash_clientside.no_update;
            }}
            window.onegridTickHeld = 0;
            return n;
        }}""",
        Output(ids.TICK, "n_intervals"), Input(CLOCK, "n_intervals"),
        [State(flag, "data") for flag in flags], prevent_initial_call=True)
