"""The Dash command centre: one login, a page per role, all live.

`create_app(ctx)` builds the app around a `DashboardContext` (the store it
reads, the city, the case directory, the accounts, the `Sender` for user
actions); `serve` and `start_server` run it. The dashboard reads the store
and never writes it: every user action is a command on Kafka.
"""

from onegrid.dashboard.app import create_app
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.server import RunningServer, serve, start_server

__all__ = ["DashboardContext", "RunningServer", "create_app", "serve", "start_server"]
