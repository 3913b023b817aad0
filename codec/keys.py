"""Codec keys from settings (DRIPSTONE_CODEC_KEYS), or, on one machine only (no
DATABASE_URL: the dev stack, the demo), from a key file in the data folder, created with a
fresh random key the first time it is needed."""

import base64
import json
import os
import secrets
import tempfile
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
        raise KeyConfigError(
            "no codec keys: set DRIPSTONE_CODEC_KEYS to a JSON object of "
            "key id -> base64 32-byte key"
        )
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
        raise KeyConfigError(
            f"DRIPSTONE_CODEC_CURRENT_KEY {current!r} is not among the keys " f"({', '.join(keys)})"
        )
    return CodecKeys(keys, current)


def new_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


MAKE_A_KEY = (
    'make a key with `openssl rand -base64 32` (or `python3 -c "import base64, os; '
    'print(base64.b64encode(os.urandom(32)).decode())"`) and give every worker and '
    'API process the same DRIPSTONE_CODEC_KEYS=\'{"k1": "<key>"}\''
)


def local_keys(data_dir: Path) -> CodecKeys:
    """The data folder's key file (ignored by git), created on first use, readable by its
    owner only. For one machine only (no DATABASE_URL): every process that shares the
    data folder shares the key; processes on other machines would each make their own.

    The id is random (`local-<8 hex>`), so a process holding another machine's key file
    reports an unknown key rather than failing to authenticate under a shared id."""
    path = data_dir / KEY_FILE
    if not path.exists():
        _create_key_file(data_dir, path)
    document = json.loads(path.read_text())
    return parse_keys(document["keys"], document.get("current"))


def _create_key_file(data_dir: Path, path: Path) -> None:
    """Written whole to a temporary file in the same folder, then hard-linked to the final
    name, which fails if the name exists: of processes starting together exactly one key
    file wins, complete, and every process reads that one."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key_id = f"local-{secrets.token_hex(4)}"
    document = {"current": key_id, "keys": {key_id: new_key()}}
    fd, temporary = tempfile.mkstemp(prefix=f".{KEY_FILE}.", dir=data_dir)  # mode 0600
    try:
        with os.fdopen(fd, "w") as file:
            json.dump(document, file)
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process won: its key is the one
    finally:
        os.unlink(temporary)
