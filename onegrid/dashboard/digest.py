"""A short digest of what a callback would send, kept in a `dcc.Store`, so a tick that
changes nothing sends nothing (PreventUpdate when the digest is the one already shown)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from plotly.utils import PlotlyJSONEncoder


def content_digest(value: Any) -> str:
    """Return 16 hex digits identifying `value` (JSON-able data, numpy and dates included;
    anything else by its str); equal values give equal digests, whatever the dict order."""
    raw = json.dumps(value, cls=PlotlyJSONEncoder, sort_keys=True, default=str).encode()
    return hashlib.blake2b(raw, digest_size=8).hexdigest()
