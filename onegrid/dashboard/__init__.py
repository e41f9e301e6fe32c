"""The Dash command centre: pages that read the store and show the city live.

`create_app` builds the app around a store, regions and registry; `serve`
and `start_server` run it (blocking, or on a thread). The dashboard reads the
store and never writes it.
"""

from onegrid.dashboard.app import RunningServer, create_app, serve, start_server

__all__ = ["RunningServer", "create_app", "serve", "start_server"]
