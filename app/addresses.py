"""Where a request comes from: the client's address behind trusted proxies, and the unit limits count.

Behind `TRUSTED_PROXIES` proxies the address comes from the `Forwarded` header (RFC 7239) by
default. Its name has no `-`, so no other spelling of it reaches the WSGI environ: granian (and
other servers) turn `X_Forwarded_For` and `X-Forwarded-For` into the same `HTTP_X_FORWARDED_FOR`,
and the later one wins, which lets a client overwrite what its proxy wrote there.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable

from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)

FORWARDED = "forwarded"
X_FORWARDED_FOR = "x-forwarded-for"
PROBES = ("/health", "/ready")  # a container's own health check comes without a proxy
IPV6_LIMIT_PREFIX = 64  # one customer's IPv6 network: a client that holds one holds all its addresses


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1].replace('\\"', '"')
    return value


def _node_address(node: str) -> str | None:
    """Return the IP address of a `for=` node (`192.0.2.1`, `"192.0.2.1:80"`, `"[2001:db8::1]:80"`)."""
    node = _unquote(node)
    if node.startswith("["):
        node = node[1 : node.find("]")] if "]" in node else ""
    elif node.count(":") == 1:  # IPv4 with a port
        node = node.partition(":")[0]
    try:
        return str(ipaddress.ip_address(node))
    except ValueError:  # "unknown", an obfuscated "_name", or garbage: no address
        return None


def forwarded_element(header: str, proxies: int) -> dict[str, str]:
    """Return the parameters of the element the outermost of `proxies` trusted proxies appended.

    Elements are split at every comma, quoted or not: the rightmost `proxies` elements are the
    proxies' own (addresses and schemes hold no comma), and whatever a client wrote before them
    can only add elements on the left, never shift these.
    """
    elements = header.split(",")
    if len(elements) < proxies:
        return {}
    parameters = {}
    for pair in elements[-proxies].split(";"):
        name, _, value = pair.partition("=")
        parameters[name.strip().lower()] = value
    return parameters


class ForwardedFix:
    """WSGI middleware: take the client's address and scheme from the trusted proxies' `Forwarded`.

    Without a usable element the request keeps the socket peer (the proxy) as its address.
    """

    def __init__(self, app: Callable, proxies: int) -> None:
        self.app = app
        self.proxies = proxies
        self._warned = False

    def __call__(self, environ: dict, start_response: Callable) -> object:
        header = environ.get("HTTP_FORWARDED", "")
        element = forwarded_element(header, self.proxies) if header else {}
        address = _node_address(element.get("for", ""))
        if address is not None:
            environ["REMOTE_ADDR"] = address
        elif not self._warned and environ.get("PATH_INFO") not in PROBES:
            self._warned = True
            log.warning(
                "TRUSTED_PROXIES is set but a request came without a usable Forwarded header: "
                "it counts as the proxy's address. Make the proxy send Forwarded: for=<client>."
            )
        scheme = _unquote(element.get("proto", "")).lower()
        if scheme in ("http", "https"):
            environ["wsgi.url_scheme"] = scheme
        return self.app(environ, start_response)


def trust_proxies(app: Callable, proxies: int, header: str) -> Callable:
    """Wrap `app` so the client's address is the one `proxies` trusted proxies report in `header`."""
    if header == X_FORWARDED_FOR:  # only where the server drops underscore headers (gunicorn does)
        return ProxyFix(app, x_for=proxies, x_proto=proxies)
    return ForwardedFix(app, proxies)


def limit_key(address: str) -> str:
    """Return what limits count an address as: itself for IPv4, its /64 network for IPv6."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, IPV6_LIMIT_PREFIX), strict=False))
    return address
