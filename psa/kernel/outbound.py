"""Outbound HTTP to addresses that users type in (webhook subscriptions, the accounting
endpoint), guarded against server-side request forgery.

A user who may subscribe a URL must not make our worker talk to the machine it runs on, the
cloud's metadata service (169.254.169.254) or the office network. So every connection checks
the address it actually connects to, after DNS resolution and at send time (a name that
resolved to a public address yesterday may not today): loopback, link-local, private,
shared, reserved, multicast and unspecified addresses are refused unless the operator lists
them in ``OUTBOUND_ALLOWED_NETWORKS`` (networks like ``10.0.0.0/8`` or host names).
Redirects are not followed (a public host could redirect inward) and proxies from the
environment are not used (the proxy would do the resolving). What comes back is kept to the
status and a short, printable excerpt: a response body is never a channel to read from.
"""

from __future__ import annotations

import http.client
import ipaddress
import re
import socket
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

EXCERPT_CHARS = 120

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(OSError):
    """The destination is not a public address and is not allow-listed."""


def _allowed() -> tuple[list[ipaddress.IPv4Network | ipaddress.IPv6Network], set[str]]:
    networks, hosts = [], set()
    for item in getattr(settings, "OUTBOUND_ALLOWED_NETWORKS", []):
        try:
            networks.append(ipaddress.ip_network(item.strip(), strict=False))
        except ValueError:
            hosts.add(item.strip().lower().rstrip("."))
    return networks, hosts


def address_refusal(ip: IPAddress | str) -> str:
    """Why ``ip`` may not be contacted ("" when it may)."""
    ip = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    networks, _ = _allowed()
    if any(ip.version == net.version and ip in net for net in networks):
        return ""
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified or not ip.is_global:
        return f"{ip} is not a public address"
    return ""


def _host_allowed(host: str) -> bool:
    return host.lower().rstrip(".") in _allowed()[1]


def _resolve(host: str, port: int) -> list[tuple[Any, ...]]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if _host_allowed(host):
        return infos
    for info in infos:
        reason = address_refusal(info[4][0].split("%")[0])
        if reason:
            # Any non-public answer refuses the name: a rebinding name answers with both.
            raise AddressRefused(f"Refused: {host} resolves to a non-public address ({reason}).")
    return infos


def _connect(address: tuple[str, int], timeout: Any = None, source_address: Any = None,
             *args: Any) -> socket.socket:  # fmt: skip
    """socket.create_connection, to the vetted addresses only (no second resolution)."""
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _, sockaddr in _resolve(host, port):
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not None and timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:  # type: ignore[attr-defined]
                sock.settimeout(timeout)
            if source_address:
                sock.bind(source_address)
            sock.connect(sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error or OSError(f"{host} did not resolve")


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._create_connection = _connect


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_HTTPConnection, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: urllib.request.Request) -> Any:
        return self.do_open(_HTTPSConnection, req, context=self._context)  # type: ignore[attr-defined]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is reported as such, never followed


def _opener() -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler({}),  # no proxies: the address we check is the one we use
        _HTTPHandler(),
        _HTTPSHandler(),
        _NoRedirect(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def excerpt(raw: bytes, limit: int = EXCERPT_CHARS) -> str:
    """A short, printable piece of a response body for the delivery log."""
    text = raw[: limit * 4].decode("utf-8", "replace")
    text = re.sub(r"\s+", " ", "".join(c if c.isprintable() else " " for c in text)).strip()
    return text[:limit]


def post(
    url: str, body: bytes, headers: dict[str, str], *, timeout: float
) -> tuple[int | None, str]:
    """POST ``body`` to ``url``: (HTTP status or None, "" or what went wrong, briefly)."""
    if urlsplit(url).scheme not in ("http", "https"):
        return None, "Refused: only http(s) addresses are contacted."
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener().open(request, timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}: {excerpt(exc.read(EXCERPT_CHARS * 4))}".strip()
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, AddressRefused):
            return None, str(reason)
        return None, f"{type(reason).__name__}: {excerpt(str(reason).encode())}"
    except (OSError, http.client.HTTPException) as exc:
        return None, f"{type(exc).__name__}: {excerpt(str(exc).encode())}"


def url_refusal(url: str) -> str:
    """Why ``url`` may not be subscribed ("" when it may): checked when it is saved, and again
    at every send. A name that does not resolve yet is accepted (the send will tell)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "An http(s) address is needed."
    host = parts.hostname
    if _host_allowed(host):
        return ""
    try:
        _resolve(host, parts.port or (443 if parts.scheme == "https" else 80))
    except AddressRefused:
        return "This address points into a private or local network; use a public address."
    except (OSError, ValueError, UnicodeError):
        return ""
    return ""
