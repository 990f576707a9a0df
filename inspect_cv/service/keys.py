"""API keys: stored hashed in a JSON keys file, each with a name and a role.

A key reads ``icv_<id>_<secret>``: ``id`` (8 hex digits) finds its entry, ``secret``
(32 random bytes, url-safe base64) is what is checked. The file keeps, per key, a random
16-byte salt and ``sha256(salt || secret)``, never the key itself: the key is shown once,
when it is made. A salted fast hash suffices because the secrets are 256-bit random
values, not passwords (no dictionary to try, nothing for a slow KDF to protect).

File layout (JSON, written atomically, mode 0600)::

    {"version": 1, "keys": [{"id": "3f9a0c12", "name": "lane-3", "role": "operator",
      "salt": "<hex>", "sha256": "<hex>", "created": "2026-11-23T21:40:00+00:00"}]}
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ConfigError, InputError
from .config import ROLES

PREFIX = "icv"


@dataclass(frozen=True)
class Principal:
    """Who made a request: the key's name and role."""

    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this principal holds ``role`` (admin holds every role)."""
        return self.role == "admin" or self.role == role


def _digest(salt: bytes, secret: str) -> str:
    return hashlib.sha256(salt + secret.encode()).hexdigest()


def _check_name(name: str) -> str:
    name = str(name).strip()
    if not name or len(name) > 64 or any(c.isspace() or not c.isprintable() for c in name):
        raise InputError(f"key name must be 1-64 printable characters without spaces, got {name!r}")
    return name


def read_keys(path: str | Path) -> list[dict]:
    """The entries of a keys file ([] when it does not exist); ConfigError when malformed."""
    p = Path(path)
    if not p.exists():
        return []
    try:
        data = json.loads(p.read_text())
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the keys file ({e.strerror or e})") from None
    except ValueError as e:
        raise ConfigError(f"{p}: the keys file is not valid JSON ({e})") from None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        raise ConfigError(f"{p}: the keys file must be an object with a 'keys' list")
    for i, k in enumerate(keys):
        if not (isinstance(k, dict) and all(isinstance(k.get(f), str) for f in ("id", "name", "role", "salt", "sha256"))):
            raise ConfigError(f"{p}: key entry {i} lacks id, name, role, salt or sha256")
        if k["role"] not in ROLES:
            raise ConfigError(f"{p}: key {k['name']!r} has unknown role {k['role']!r} (use {', '.join(ROLES)})")
    return keys


def _write_keys(path: Path, keys: list[dict]) -> None:
    path = Path(path)
    if not path.parent.is_dir():
        raise InputError("the keys file's folder does not exist", path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"version": 1, "keys": keys}, fh, indent=2)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def add_key(path: str | Path, name: str, role: str = "operator") -> str:
    """Add a key named ``name`` with ``role`` to the keys file (created if missing).

    Returns the new key: it is stored only hashed, so this is the one chance to see it.
    """
    name = _check_name(name)
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    keys = read_keys(path)
    if any(k["name"] == name for k in keys):
        raise InputError(f"a key named {name!r} already exists (remove it first)", path)
    ids = {k["id"] for k in keys}
    key_id = secrets.token_hex(4)
    while key_id in ids:  # pragma: no cover - 1 in 4 billion
        key_id = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    keys.append({"id": key_id, "name": name, "role": role, "salt": salt.hex(), "sha256": _digest(salt, secret),
                 "created": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    _write_keys(Path(path), keys)
    return f"{PREFIX}_{key_id}_{secret}"


def remove_key(path: str | Path, name: str) -> None:
    """Remove the key named ``name`` (InputError when there is none)."""
    keys = read_keys(path)
    kept = [k for k in keys if k["name"] != name]
    if len(kept) == len(keys):
        raise InputError(f"no key named {name!r}", path)
    _write_keys(Path(path), kept)


def list_keys(path: str | Path) -> list[dict]:
    """Name, role, id and creation time of each key (no hashes)."""
    return [{"name": k["name"], "role": k["role"], "id": k["id"], "created": k.get("created")}
            for k in read_keys(path)]


class KeyStore:
    """Checks presented keys against a keys file, re-read when the file changes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple | None = None
        self._by_id: dict[str, dict] = {}
        self._reload()
        if not self._by_id:
            raise ConfigError(f"{self.path}: no API keys in the keys file; add one with "
                              f"`inspect-cv serve keys add NAME --role admin --keys {self.path}`")

    def _reload(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise ConfigError(f"{self.path}: no such keys file") from None
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self._stamp:
            self._by_id = {k["id"]: k for k in read_keys(self.path)}
            self._stamp = stamp

    def check(self, key: str | None) -> Principal | None:
        """The principal of a valid key, else None."""
        if not key:
            return None
        parts = key.strip().split("_", 2)
        if len(parts) != 3 or parts[0] != PREFIX:
            return None
        with self._lock:
            try:
                self._reload()
            except ConfigError:
                pass  # keep the last good keys if the file is briefly unreadable
            entry = self._by_id.get(parts[1])
        if entry is None:
            return None
        if not hmac.compare_digest(_digest(bytes.fromhex(entry["salt"]), parts[2]), entry["sha256"]):
            return None
        return Principal(entry["name"], entry["role"])


__all__ = ["Principal", "KeyStore", "add_key", "remove_key", "list_keys", "read_keys"]
