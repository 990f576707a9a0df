"""The service's own audit log (operator decisions on baggage and container items).

One SQLite file in WAL mode; every row names the API key that made it. Horse
verifications and identifications go to the gallery's own audit table
(:mod:`inspect_cv.reid.gallery`) with the key's name as operator.
"""
from __future__ import annotations

import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

from ..errors import ConfigError

DECISIONS = ("clear", "hold")
KINDS = ("baggage", "container", "horse", "other")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, time TEXT NOT NULL, key_name TEXT NOT NULL,
    role TEXT NOT NULL, kind TEXT NOT NULL, item TEXT NOT NULL, decision TEXT NOT NULL,
    note TEXT, request_id TEXT, details TEXT);
CREATE INDEX IF NOT EXISTS decisions_item ON decisions(item);
"""

_COLUMNS = ("id", "time", "key_name", "role", "kind", "item", "decision", "note", "request_id", "details")


class AuditLog:
    """Append-only decision log in a SQLite file (thread-safe)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ConfigError(f"{self.path}: the audit log's folder does not exist")
        try:
            self._conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None,
                                         timeout=30)
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            raise ConfigError(f"{self.path}: not a usable audit database ({e})") from None
        self._lock = threading.Lock()

    def record(self, key_name: str, role: str, kind: str, item: str, decision: str, note: str | None = None,
               request_id: str | None = None, details: dict | None = None) -> dict:
        """Append one decision; returns the stored row."""
        row = (datetime.now(timezone.utc).isoformat(timespec="milliseconds"), key_name, role, kind, item,
               decision, note, request_id, json.dumps(details or {}, sort_keys=True))
        with self._lock:
            cur = self._conn.execute(
                "INSERT INTO decisions (time, key_name, role, kind, item, decision, note, request_id, details) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
            rid = cur.lastrowid
        return dict(zip(_COLUMNS, (rid,) + row[:-1] + (details or {},)))

    def entries(self, limit: int = 100, item: str | None = None) -> list[dict]:
        """Decisions, newest first."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM decisions"
        args: list = []
        if item is not None:
            sql += " WHERE item = ?"
            args.append(item)
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(int(limit))
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        out = []
        for r in rows:
            d = dict(zip(_COLUMNS, r))
            d["details"] = json.loads(d["details"] or "{}")
            out.append(d)
        return out

    def close(self) -> None:
        with self._lock:
            self._conn.close()


__all__ = ["AuditLog", "DECISIONS", "KINDS"]
