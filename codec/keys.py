"""Codec keys from settings, or (dev stack, demo, tests) from a key file in the data
folder, created with a fresh random key the first time it is needed."""

import base64
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

KEY_FILE = "codec-keys.json"


class KeyConfigError(ValueError):
    pass


@dataclass(frozen=True)
class CodecKeys:
    keys: dict[str, bytes]
    current: str


def parse_keys(encoded: dict[str, str], current: str | None) -> CodecKeys:
    """`encoded`: key id -> base64 of 32 random bytes; `current`: the id new payloads use
    (default: the last listed)."""
    if not encoded:
        raise KeyConfigError("no codec keys: set DRIPSTONE_CODEC_KEYS to a JSON object of "
                             "key id -> base64 32-byte key")
    keys = {}
    for key_id, value in encoded.items():
        try:
            key = base64.b64decode(value, validate=True)
        except ValueError:
            raise KeyConfigError(f"codec key {key_id!r} is not valid base64") from None
        if len(key) != 32:
            raise KeyConfigError(f"codec key {key_id!r} is {len(key)} bytes; AES-256 needs 32")
        keys[key_id] = key
    current = current or list(keys)[-1]
    if current not in keys:
        raise KeyConfigError(f"DRIPSTONE_CODEC_CURRENT_KEY {current!r} is not among the keys "
                             f"({', '.join(keys)})")
    return CodecKeys(keys, current)


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def local_keys(data_dir: Path) -> CodecKeys:
    """The data folder's key file (ignored by git), created on first use, readable by its
    owner only."""
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        document = {"current": "local-1", "keys": {"local-1": new_key()}}
        # O_EXCL: two processes starting together do not each write a different key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as file:
                json.dump(document, file)
    document = json.loads(path.read_text())
    return parse_keys(document["keys"], document.get("current"))
