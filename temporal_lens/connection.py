"""Connecting to a Temporal frontend the way the `temporal` CLI does: address, namespace, mTLS files, API key.

Each setting resolves option, then the `temporal` CLI's environment variable, then default. A connection that cannot
work (address unreachable, namespace missing, credentials refused, a TLS file unreadable) raises
`ConnectionInputError` with one line naming what was wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from temporalio.client import Client

ENV_ADDRESS = "TEMPORAL_ADDRESS"
ENV_NAMESPACE = "TEMPORAL_NAMESPACE"
ENV_TLS_CERT = "TEMPORAL_TLS_CERT"
ENV_TLS_KEY = "TEMPORAL_TLS_KEY"
ENV_TLS_CA = "TEMPORAL_TLS_CA"
ENV_TLS_SERVER_NAME = "TEMPORAL_TLS_SERVER_NAME"
ENV_API_KEY = "TEMPORAL_API_KEY"
DEFAULT_ADDRESS = "127.0.0.1:7233"
DEFAULT_NAMESPACE = "default"
_CONNECT_TIMEOUT_S = 10.0


class ConnectionInputError(ValueError):
    """The connection settings do not lead to a usable namespace; the message says which one and why."""


@dataclass(frozen=True)
class TemporalTarget:
    """Where and how to connect. TLS is on when any TLS setting or an API key is given (as Temporal Cloud needs)."""

    address: str = DEFAULT_ADDRESS
    namespace: str = DEFAULT_NAMESPACE
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca: Path | None = None
    tls_server_name: str | None = None
    api_key: str | None = None

    @property
    def uses_tls(self) -> bool:
        return any((self.tls_cert, self.tls_key, self.tls_ca, self.tls_server_name, self.api_key))


async def connect_namespace(target: TemporalTarget) -> Client:
    """A client for `target.namespace`, checked: the namespace exists and the credentials are accepted."""
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client
    from temporalio.service import RPCError, RPCStatusCode, TLSConfig

    if bool(target.tls_cert) != bool(target.tls_key):
        raise ConnectionInputError("--tls-cert and --tls-key go together (a client certificate and its key)")
    tls: TLSConfig | bool = False
    if target.uses_tls:
        tls = TLSConfig(
            client_cert=_read(target.tls_cert, "--tls-cert"),
            client_private_key=_read(target.tls_key, "--tls-key"),
            server_root_ca_cert=_read(target.tls_ca, "--tls-ca"),
            domain=target.tls_server_name,
        )
    try:
        client = await Client.connect(target.address, namespace=target.namespace, tls=tls, api_key=target.api_key)
    except RuntimeError as err:
        if any(word in str(err).lower() for word in ("unauthenticated", "permission")):
            raise ConnectionInputError(_refused(target, err)) from err
        raise ConnectionInputError(f"cannot connect to Temporal at {target.address}: {_first_line(err)}") from err
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=target.namespace), timeout=timedelta(seconds=_CONNECT_TIMEOUT_S)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ConnectionInputError(f"namespace {target.namespace!r} not found at {target.address}") from err
        if err.status in (RPCStatusCode.UNAUTHENTICATED, RPCStatusCode.PERMISSION_DENIED):
            raise ConnectionInputError(_refused(target, err)) from err
        raise ConnectionInputError(f"cannot use namespace {target.namespace!r} at {target.address}: "
                                   f"{_first_line(err)}") from err
    return client


def _refused(target: TemporalTarget, err: BaseException) -> str:
    return (f"{target.address} refused the credentials for namespace {target.namespace!r}"
            f" (API key or client certificate): {_first_line(err)}")


def _read(path: Path | None, option: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise ConnectionInputError(f"{option}: cannot read {path}: {err.strerror or err}") from err


def _first_line(err: BaseException) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0]
