"""An encrypting payload codec (Fernet: AES-128-CBC + HMAC), so the study can show history without readable data.

Every client and worker of the sample app that shares the key file reads and writes encrypted payloads; the
Temporal server, its history and anyone without the key see only ciphertext.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, PayloadCodec

ENCODING = b"binary/encrypted-fernet"


class EncryptionCodec(PayloadCodec):
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    @classmethod
    def from_key_file(cls, path: str | Path) -> EncryptionCodec:
        return cls(Path(path).read_bytes().strip())

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": ENCODING}, data=self._fernet.encrypt(p.SerializeToString()))
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding", b"") != ENCODING:
                decoded.append(payload)
                continue
            inner = Payload()
            inner.ParseFromString(self._fernet.decrypt(payload.data))
            decoded.append(inner)
        return decoded


def write_key_file(path: Path) -> Path:
    path.write_bytes(Fernet.generate_key())
    path.chmod(0o600)
    return path


def data_converter(key_file: str | Path | None) -> DataConverter:
    """The default converter, encrypting when a key file is given."""
    if not key_file:
        return DataConverter.default
    return dataclasses.replace(DataConverter.default, payload_codec=EncryptionCodec.from_key_file(key_file))
