"""Serving the dashboard: on a background thread (`onegrid up`) or in this one (`serve`).

Werkzeug's threaded WSGI server, no debug mode (so no traceback can reach a
page) and no per-request log lines (the pages poll every couple of seconds).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from dash import Dash
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class _QuietHandler(WSGIRequestHandler):
    # The pages poll every couple of seconds; one log line per request drowns the node's log.
    def log_request(self, *args, **kwargs) -> None:
        pass


@dataclass
class RunningServer:
    """A dashboard served on a background thread; `stop()` shuts it down."""

    url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


def start_server(app: Dash, host: str = "127.0.0.1", port: int = 8050) -> RunningServer:
    """Serve `app` on a daemon thread (threaded WSGI, no debug); port 0 picks a free one."""
    server = make_server(host, port, app.server, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="onegrid-dashboard", daemon=True)
    thread.start()
    return RunningServer(f"http://{host}:{server.server_port}/", server, thread)


def serve(app: Dash, host: str = "127.0.0.1", port: int = 8050) -> None:
    """Serve `app` in this thread until interrupted (for `onegrid serve`)."""
    server = make_server(host, port, app.server, threaded=True, request_handler=_QuietHandler)
    try:
        server.serve_forever()
    finally:
        server.server_close()
