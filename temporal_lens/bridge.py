"""Where a receiver on this host listens so that containers (docker-compose's collector) reach it and others don't.

A container reaches the host at `host.docker.internal`, which compose maps to the default bridge's gateway
(`host-gateway`: docker0's address). Listening there, not on 0.0.0.0, keeps the receiver off every other network
the machine is on.
"""

from __future__ import annotations

import fcntl
import socket
import struct

DOCKER_BRIDGE = "docker-bridge"
"""The host to give in `--receive-grpc` for "docker0's address, if there is one"."""
DOCKER_INTERFACE = "docker0"
_SIOCGIFADDR = 0x8915
"""Linux ioctl: an interface's IPv4 address."""


def interface_ipv4(name: str) -> str | None:
    """The IPv4 address of network interface `name`, or None when it has none (or this is not Linux)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            packed = fcntl.ioctl(sock.fileno(), _SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError:
            return None
    return socket.inet_ntoa(packed[20:24])


def resolve_listen_host(host: str) -> tuple[str, str | None]:
    """`host`, with `docker-bridge` replaced by docker0's address, or by loopback and a note saying why."""
    if host != DOCKER_BRIDGE:
        return host, None
    address = interface_ipv4(DOCKER_INTERFACE)
    if address is not None:
        return address, None
    return "127.0.0.1", (
        f"no Docker bridge ({DOCKER_INTERFACE}) on this machine: the receiver listens on loopback only, where a "
        "collector in a container cannot reach it; give --receive-grpc HOST:PORT for another address"
    )


__all__ = ["DOCKER_BRIDGE", "DOCKER_INTERFACE", "interface_ipv4", "resolve_listen_host"]
