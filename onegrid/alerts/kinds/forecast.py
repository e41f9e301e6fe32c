"""Early warning (预警): a metric's recent trend, read `horizon` ahead, against a threshold.

Per scope key the store fits a least-squares line through the minute-bucket
means of the window (`geo.windows.window_trend`): its slope (unit per hour)
and its value at the clock (`fit_now`). The forecast is that line read
`horizon` after the clock. A straight line over the last hour is the simplest
forecaster that uses every bucket: one noisy reading moves it little (unlike
last-minus-first), it needs no tuning state between batches (unlike
exponential smoothing), and over a horizon of a few windows a city's air
changes little faster than linearly. Beyond about four windows it would only
guess, so the rule file refuses such horizons.

A key with no live alert is observed only when a warning could start: the
fitted value now is still below the threshold (the exceedance has not come
yet), the trend rises at least `min_rate` per hour beyond its own
uncertainty (slope minus two standard errors, so a few noisy buckets or a
noisy plateau do not make a rise), the window holds at least `min_points`
buckets and the forecast reaches the threshold. The
observation's value is the forecast, so the lifecycle starts, fires (`for`)
and resolves (below `clear` for `clear_for`, hysteresis) on it as for a
threshold. A key with a live alert is observed whenever the fit is possible,
so the warning stays while the forecast stays high, even once the exceedance
has come (the threshold rule then speaks for the present), and clears when
the outlook does. The evidence (events of the window) is `evaluation`'s.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Final

import numpy as np
import pyarrow as pa

from onegrid.alerts.model import Observation, Rule

CONFIDENCE_SE: Final = 2.0  # a rise counts when the slope clears min_rate by two standard errors


def _column(stats: pa.Table, name: str) -> np.ndarray:
    return stats.column(name).to_numpy(zero_copy_only=False).astype(np.float64)  # NULL: NaN


def forecasts(rule: Rule, stats: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (forecast, fitted value now, surely-rising slope per hour) per row.

    The third is the slope less CONFIDENCE_SE standard errors. All are NaN
    where the window has fewer than `min_points` buckets.
    """
    fits = _column(stats, "buckets") >= max(rule.min_points, 2)
    slope = np.where(fits, _column(stats, "slope_per_h"), np.nan)
    now = np.where(fits, _column(stats, "fit_now"), np.nan)
    surely = slope - CONFIDENCE_SE * _column(stats, "slope_se")
    return now + slope * rule.horizon_s / 3600.0, now, surely


def can_warn(rule: Rule, forecast: np.ndarray, now: np.ndarray,
             surely: np.ndarray) -> np.ndarray:
    """Return where a new warning may start: below the threshold now, surely rising at
    `min_rate` or more, and the forecast at or over the threshold."""
    threshold = rule.levels[0].threshold
    with np.errstate(invalid="ignore"):
        return (now < threshold) & (surely >= rule.min_rate) & (forecast >= threshold)


def evaluate(rule: Rule, stats: pa.Table, at: datetime,
             live: Collection[str] = ()) -> list[Observation]:
    """Return the forecast of every live key with a fit and of every key that may warn."""
    if stats.num_rows == 0:
        return []
    forecast, now, surely = forecasts(rule, stats)
    keys = stats.column("key").to_pylist()
    is_live = np.array([k in live for k in keys], dtype=bool)
    keep = np.flatnonzero((is_live & np.isfinite(forecast))
                          | can_warn(rule, forecast, now, surely))
    cells = stats.column("cell").to_pylist()
    return [Observation(rule.id, keys[i], at, float(forecast[i]), cell=cells[i])
            for i in keep.tolist()]
