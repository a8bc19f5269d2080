"""A TLS gRPC endpoint in front of the dev server (which has no TLS): a real server the Temporal client connects to
over TLS with ALPN h2, forwarding every unary call and recording the `authorization` metadata it received.

With `api_key` set it refuses other keys with UNAUTHENTICATED, as Temporal Cloud does.
"""

from __future__ import annotations

import datetime
import ipaddress
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

SERVER_NAME = "temporal.lens.test"
# Headers gRPC sets itself on the forwarded call; passing them on would be refused or duplicated.
_NOT_FORWARDED = ("authorization", "user-agent", "te", "content-type", "grpc-")


@dataclass(frozen=True)
class TestCertificates:
    ca_pem: bytes
    server_cert_pem: bytes
    server_key_pem: bytes

    def write_ca(self, folder: Path) -> Path:
        path = folder / "ca.pem"
        path.write_bytes(self.ca_pem)
        return path


def make_certificates() -> TestCertificates:
    """A CA and a server certificate it signed, for SERVER_NAME and 127.0.0.1."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "temporal-lens test CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SERVER_NAME),
                                                    x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return TestCertificates(
        ca.public_bytes(serialization.Encoding.PEM),
        cert.public_bytes(serialization.Encoding.PEM),
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
    )


@dataclass
class TlsForwardingProxy:
    """`with TlsForwardingProxy(upstream, certificates) as proxy:` listens on `proxy.address` (TLS)."""

    upstream: str
    certificates: TestCertificates
    api_key: str | None = None
    authorizations: list[str | None] = field(default_factory=list)

    def __enter__(self) -> TlsForwardingProxy:
        self._channel = grpc.insecure_channel(self.upstream)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self._server.add_generic_rpc_handlers([_Forward(self)])
        credentials = grpc.ssl_server_credentials(
            [(self.certificates.server_key_pem, self.certificates.server_cert_pem)]
        )
        port = self._server.add_secure_port("127.0.0.1:0", credentials)
        self._server.start()
        self.address = f"127.0.0.1:{port}"
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop(grace=None)
        self._channel.close()


class _Forward(grpc.GenericRpcHandler):
    def __init__(self, proxy: TlsForwardingProxy) -> None:
        self._proxy = proxy

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        call = self._proxy._channel.unary_unary(handler_call_details.method)
        proxy = self._proxy

        def forward(request: bytes, context: grpc.ServicerContext) -> bytes:
            metadata = list(context.invocation_metadata())
            authorization = dict(metadata).get("authorization")
            proxy.authorizations.append(authorization)
            if proxy.api_key is not None and authorization != f"Bearer {proxy.api_key}":
                context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid API key")
            passed = [(key, value) for key, value in metadata if not key.startswith(_NOT_FORWARDED)]
            try:
                return call(request, metadata=passed, timeout=context.time_remaining())
            except grpc.RpcError as err:
                context.abort(err.code(), err.details())

        return grpc.unary_unary_rpc_method_handler(forward)
