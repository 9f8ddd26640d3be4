"""The development server of `python wsgi.py`: Werkzeug's, with a short banner and one line a request."""

from __future__ import annotations

import logging
import socket
from urllib.parse import urlsplit

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

from config import Settings

log = logging.getLogger("app.server")

ALL_ADDRESSES = {"0.0.0.0", "::", ""}
NOT_FOR_PRODUCTION = "This is the development server: production runs `python serve.py` (docs/deployment.md)."


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's request handler without its own request line: the request log has one already."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def serve(app: Flask, host: str, port: int) -> None:
    """Listen on `host`:`port` (0: a free port), say where in a banner, and serve until Ctrl+C."""
    # A port in use or an address that cannot be bound: Werkzeug says so in a line and exits.
    server = make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)
    fields = banner(app.extensions["settings"], host, server.port)
    fields["mail"] = app.extensions["mailer"].describe()
    if "dev_mailbox" in app.extensions:
        fields["mailbox"] = f"{fields['url']}/dev/mail (every mail kept, its code in large type)"
    fields["warnings"] = fields.pop("warnings")  # last, as the line a reader must not miss
    log.info("development server listening (Ctrl+C stops it)", extra={"fields": fields, "block": True})
    server.serve_forever()  # returns on Ctrl+C, after closing the socket


def banner(settings: Settings, host: str, port: int) -> dict:
    """The start-up facts a person needs: where to send requests, the docs page, the store, the warnings."""
    local = "127.0.0.1" if host in ALL_ADDRESSES else host
    url = f"http://{_bracketed(local)}:{port}"
    fields: dict = {"url": url}
    if host in ALL_ADDRESSES:
        fields["network"] = f"http://{_bracketed(network_address())}:{port} (for a phone on this network)"
    fields["docs"] = f"{url}/api/docs"
    fields["store"] = store_description(settings)
    warnings = settings.warnings()
    if settings.production:
        warnings.append(NOT_FOR_PRODUCTION)
    fields["warnings"] = warnings
    return fields


def store_description(settings: Settings) -> str:
    """Name the store in use, never its credentials."""
    if settings.store.mongo_uri is None:
        return "embedded in-memory store (no MONGO_URI)"
    parts = urlsplit(settings.store.mongo_uri)
    hosts = parts.netloc.rpartition("@")[2]  # user:password@ stays out
    return f"MongoDB at {hosts}{parts.path or '/'}"


def network_address() -> str:
    """Return this machine's address on its network (no packet is sent), or 127.0.0.1 without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: picks the outgoing interface, sends nothing
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"


def _bracketed(address: str) -> str:
    return f"[{address}]" if ":" in address else address
