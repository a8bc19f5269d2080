"""`host:port` addresses: parsed the same way for every listener option, joined with IPv6 brackets, made dialable."""

from __future__ import annotations

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


__all__ = ["dialable_host", "join_host_port", "parse_host_port"]
