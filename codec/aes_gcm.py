"""A Temporal payload codec that encrypts every payload with AES-256-GCM.

Each encrypted payload names its key in its metadata, so keys rotate: new payloads use
the current key, and any key still listed decrypts. Payloads without our encoding (stored
before the codec existed) pass through decode unchanged, so old histories still replay.
"""

import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
ENCODING_KEY = "encoding"
KEY_ID_KEY = "encryption-key-id"
NONCE_BYTES = 12


class DecryptFailed(ValueError):
    """A payload of ours that this process cannot decrypt; the message names its key id."""


class UnknownKey(DecryptFailed):
    """A payload encrypted with a key this process does not hold."""


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: Mapping[str, bytes], current: str):
        if current not in keys:
            raise ValueError(f"current key {current!r} is not among the keys")
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"key {key_id!r} must be 32 bytes (AES-256), not {len(key)}")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = current

    @property
    def current_key_id(self) -> str:
        return self._current

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        key_id = self._current
        # The key id is bound as associated data: a payload cannot be passed off as
        # encrypted under another key.
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={ENCODING_KEY: ENCODING, KEY_ID_KEY: key_id.encode()}, data=nonce + sealed
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get(ENCODING_KEY) != ENCODING:
            return payload  # not ours: recorded before the codec, or never encrypted
        key_id = payload.metadata.get(KEY_ID_KEY, b"").decode()
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UnknownKey(
                f"payload encrypted with key {key_id!r}, which is not configured "
                "(DRIPSTONE_CODEC_KEYS)"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        decoded = Payload()
        try:
            decoded.ParseFromString(cipher.decrypt(nonce, sealed, key_id.encode()))
        except (InvalidTag, ValueError, DecodeError):
            # InvalidTag: the key held under this id is not the one that encrypted it
            # (processes with different keys under one id), or the payload was altered.
            raise DecryptFailed(
                f"payload encrypted with key {key_id!r} does not decrypt with the key "
                f"configured as {key_id!r}: either the processes hold different keys under "
                "that id (every worker and API process must share DRIPSTONE_CODEC_KEYS), or "
                "the payload was altered"
            ) from None
        return decoded
