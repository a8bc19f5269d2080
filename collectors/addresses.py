"""`host:port` addresses: parsed the same way for every listener option, joined with IPv6 brackets, made dialable."""

from __future__ import annotations

import ipaddress

_MAX_PORT = 65535
_LOOPBACK_OF_WILDCARD = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}
"""A client cannot dial a wildcard address; the loopback of the same family reaches the same socket."""


def parse_host_port(text: str, *, option: str) -> tuple[str, int]:
    """`host:port` (IPv6 as `[::1]:4317`) as (host without brackets, port).

    Args:
        text: the address as the user gave it.
        option: what the address was given as (`--grpc`, say): the error names it.

    Raises:
        ValueError: `text` is not host:port with a port from 0 to 65535.
    """
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > _MAX_PORT:
        raise ValueError(f"{option} must be host:port, got {text!r}")
    return host.strip("[]"), int(port)


def join_host_port(host: str, port: int) -> str:
    """`host:port`, with the brackets an IPv6 host needs (`[::1]:4317`)."""
    return f"[{host}]:{port}" if ":" in host and not host.startswith("[") else f"{host}:{port}"


def dialable_host(host: str) -> str:
    """The host a client on this machine dials to reach a listener bound to `host` (wildcards become loopback)."""
    return _LOOPBACK_OF_WILDCARD.get(host, host)


def is_loopback(host: str) -> bool:
    """Whether a listener bound to `host` is reachable only from this machine (`localhost`, 127.0.0.0/8, ::1).

    A host name other than `localhost` counts as reachable from elsewhere: what it resolves to can change.
    """
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OpenListenerError(ValueError):
    """A receiver asked to listen beyond loopback with nothing to keep strangers out."""


def require_token_beyond_loopback(host: str, port: int, token: str | None, *, insecure: bool, what: str) -> None:
    """Refuse to listen on a non-loopback `host` without a token unless `insecure` says so explicitly.

    Raises:
        OpenListenerError: naming the address and the two ways on (a token, or `--insecure`).
    """
    if token or insecure or is_loopback(host):
        return
    raise OpenListenerError(
        f"the {what} on {join_host_port(host, port)} would accept data from anyone who can reach this machine; "
        "give a token (--token or TEMPORAL_LENS_TOKEN; exporters then send 'Authorization: Bearer <token>'), "
        "listen on 127.0.0.1, or pass --insecure to accept that"
    )


__all__ = [
    "OpenListenerError",
    "dialable_host",
    "is_loopback",
    "join_host_port",
    "parse_host_port",
    "require_token_beyond_loopback",
]
