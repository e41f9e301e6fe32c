"""Callbacks that never show a traceback and always know who is asking.

`user_callback(app, ctx, outputs, inputs, fallback)` registers a page's
callback so that it runs only for a signed-in actor (taken from the signed
session on the server, never from the page), receives that actor first,
and, if it raises, logs the error and returns `fallback(lang)` instead: a
short sentence in the user's language, never a traceback. A callback posted
without a session never gets here (`auth` refuses it with 401).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any

from dash import Dash, no_update
from dash.exceptions import PreventUpdate

from onegrid.dashboard import pacing
from onegrid.dashboard.auth import signed_in

log = logging.getLogger(__name__)


def user_callback(app: Dash, ctx, outputs: Sequence, inputs: Sequence,
                  fallback: Callable[[], Any] | None = None,
                  **options: Any) -> Callable[[Callable], Callable]:
    """Return a decorator registering `fn(actor, *values)` as a Dash callback.

    `fallback()` gives the outputs to return when `fn` fails (default: no
    update of any output). `options` go to `app.callback` (e.g.
    prevent_initial_call). A callback listening to the live tick is paced
    (`pacing.paced`).
    """
    outputs, inputs = list(outputs), list(inputs)
    options = {**pacing.paced(app, inputs), **options}

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*values):
            actor = signed_in(ctx.directory.staff)
            if actor is None:
                raise PreventUpdate
            try:
                return fn(actor, *values)
            except PreventUpdate:
                raise
            except Exception:
                log.exception("dashboard callback %s failed for %s", fn.__name__,
                              actor.actor_id)
                if fallback is not None:
                    return fallback()
                return _no_update(len(outputs))
        app.callback(*outputs, *inputs, **options)(run)
        return fn
    return decorate


def _no_update(n: int):
    return no_update if n == 1 else tuple(no_update for _ in range(n))
