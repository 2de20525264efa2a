"""访问控制 Who may use the analysts' data service: users, their organisation (机构) and role, and
the bearer tokens they present, kept in a small SQLite database of their own.

Roles: an analyst sees the company codes of its organisation (catalog/reference.yaml); an auditor
and an admin see every organisation. A token is shown once, when the user is added; the database
keeps only the token's SHA-256. Tokens are 256 random bits, so a plain hash cannot be brute-forced
and needs neither salt nor a slow KDF (those protect guessable passwords); being unsalted, it lets
`authenticate` find the user through an index in one lookup, in well under a millisecond, where a
salted KDF would have to be run once per user on every request. A lost token is re-issued by
`revoke` and `add_user`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from catalog.register import REFERENCE_PATH, Reference, load_reference

ROLES = ("analyst", "auditor", "admin")
# roles that see every organisation's company codes
ALL_ORGANISATIONS = frozenset({"auditor", "admin"})
MAX_NAME = 64
# hex characters of the hash the index is searched by; the whole hash is then compared in constant time
LOOKUP_CHARS = 16

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id           INTEGER PRIMARY KEY,
    name         TEXT NOT NULL,
    org          TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('analyst', 'auditor', 'admin')),
    token_sha256 TEXT NOT NULL UNIQUE,
    lookup       TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);
-- one active user per name; revoked rows stay as the history of who had access
CREATE UNIQUE INDEX IF NOT EXISTS users_active_name ON users (name) WHERE revoked_at IS NULL;
CREATE INDEX IF NOT EXISTS users_lookup ON users (lookup);
"""


class AccessError(ValueError):
    """A refused change to the users: unknown organisation or role, duplicate or unknown name."""


@dataclass(frozen=True)
class User:
    name: str
    org: str
    org_name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. company_codes None means every organisation (auditor, admin)."""

    name: str
    org: str
    role: str
    company_codes: frozenset[str] | None


# ---- reference data -------------------------------------------------------------------------------

_reference_lock = threading.Lock()
_reference_cache: tuple[tuple[int, int], Reference] | None = None


def _reference() -> Reference:
    """The reference data, parsed again only when reference.yaml changes (parsing takes ~20 ms,
    a stat a few µs: authentication stays well under a millisecond)."""
    global _reference_cache
    st = REFERENCE_PATH.stat()
    stamp = (st.st_mtime_ns, st.st_size)
    with _reference_lock:
        if _reference_cache is None or _reference_cache[0] != stamp:
            _reference_cache = (stamp, load_reference(REFERENCE_PATH))
        return _reference_cache[1]


def _organisations(reference: Reference | None) -> dict:
    return {o.code: o for o in (reference or _reference()).organisations}


# ---- database -------------------------------------------------------------------------------------

def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _lookup(digest: str) -> str:
    """The first 64 bits of the hash: the index key that finds a token's row."""
    return digest[:LOOKUP_CHARS]


@contextmanager
def _writer(db_path: Path | str) -> Iterator[sqlite3.Connection]:
    """A connection holding the write lock for one transaction; creates the database if needed."""
    path = Path(db_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        con.executescript(_SCHEMA)
        # IMMEDIATE: the name check and the insert see the same state when two admins add at once
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()


_readers_lock = threading.Lock()
_readers: dict[str, tuple[tuple[int, int, int, int], sqlite3.Connection]] = {}


def _select(db_path: Path | str, sql: str, params: list) -> list[tuple]:
    """The rows of a query, on a reading connection kept open per database and process (opening
    one and reading its schema takes ~0.4 ms, most of the millisecond a lookup may take). It runs in autocommit
    mode, so every query sees the latest commit and a revocation takes effect at once. No rows
    when the database does not exist yet: reading never creates it."""
    path = os.path.abspath(db_path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return []
    # a forked process, or a database replaced by another file (which may reuse the inode number,
    # hence ctime, changed by every write too), gets a connection of its own
    stamp = (os.getpid(), st.st_dev, st.st_ino, st.st_ctime_ns)
    with _readers_lock:
        cached = _readers.get(path)
        if cached is None or cached[0] != stamp:
            if cached is not None and cached[0][0] == os.getpid():
                cached[1].close()
            # rw, not ro: a read-write connection can roll back a journal left by a crashed writer
            con = sqlite3.connect(f"{Path(path).as_uri()}?mode=rw", uri=True, timeout=10,
                                  isolation_level=None, check_same_thread=False)
            _readers[path] = (stamp, con)
        con = _readers[path][1]
        try:
            return con.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            # the first add_user has created the file but not yet its table: no users yet
            if "no such table" in str(exc):
                return []
            _readers.pop(path, None)
            raise
        except sqlite3.Error:
            _readers.pop(path, None)
            raise


def _check_name(name: str) -> str:
    clean = name.strip()
    if not clean:
        raise AccessError("user name is empty")
    if len(clean) > MAX_NAME:
        raise AccessError(f"user name {clean[:20]!r}… is longer than {MAX_NAME} characters")
    if not clean.isprintable():
        raise AccessError(f"user name {clean!r} contains control characters")
    return clean


# ---- API ------------------------------------------------------------------------------------------

def add_user(db_path: Path | str, name: str, org: str, role: str = "analyst",
             reference: Reference | None = None) -> str:
    """Add an active user and return its new token, which is shown once and not stored.
    org is an organisation code of the reference data, role one of analyst|auditor|admin."""
    name = _check_name(name)
    organisations = _organisations(reference)
    if org not in organisations:
        raise AccessError(f"unknown organisation {org!r}: the reference data has "
                          f"{', '.join(sorted(organisations))}")
    if role not in ROLES:
        raise AccessError(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    token = secrets.token_urlsafe(32)
    with _writer(db_path) as con:
        if con.execute("SELECT 1 FROM users WHERE name = ? AND revoked_at IS NULL", [name]).fetchone():
            raise AccessError(f"user {name!r} already exists and is active; to issue a new token, "
                              f"revoke it first, then add it again")
        digest = _hash(token)
        con.execute("INSERT INTO users (name, org, role, token_sha256, lookup, created_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", [name, org, role, digest, _lookup(digest), _now()])
    return token


def list_users(db_path: Path | str, reference: Reference | None = None) -> list[User]:
    """Every user, revoked ones included (the history of who had access), oldest first."""
    organisations = _organisations(reference)
    rows = _select(db_path, "SELECT name, org, role, created_at, revoked_at FROM users ORDER BY id", [])
    return [User(name=name, org=org,
                 org_name=organisations[org].name_zh if org in organisations else "（不在参考数据中 not in the reference data）",
                 role=role, created_at=datetime.fromisoformat(created),
                 revoked_at=datetime.fromisoformat(revoked) if revoked else None)
            for name, org, role, created, revoked in rows]


def revoke(db_path: Path | str, name: str) -> None:
    """Revoke the active user of that name: its token stops working at once."""
    with _writer(db_path) as con:
        updated = con.execute("UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                              [_now(), name.strip()]).rowcount
    if not updated:
        raise AccessError(f"no active user {name!r}")


def authenticate(db_path: Path | str, token: str, reference: Reference | None = None) -> Principal | None:
    """The principal a token belongs to; None for an unknown or revoked token, and for an analyst
    whose organisation is no longer in the reference data (it would otherwise see nothing, or all)."""
    if not token:
        return None
    digest = _hash(token)
    candidates = _select(db_path, "SELECT name, org, role, token_sha256 FROM users "
                                  "WHERE lookup = ? AND revoked_at IS NULL", [_lookup(digest)])
    row = None
    for candidate in candidates:
        # the index compared only the first 64 bits; the whole hash is compared in constant time
        if hmac.compare_digest(candidate[3], digest):
            row = candidate
    if row is None:
        return None
    name, org, role, _ = row
    if role in ALL_ORGANISATIONS:
        return Principal(name=name, org=org, role=role, company_codes=None)
    organisation = _organisations(reference).get(org)
    if organisation is None:
        return None
    return Principal(name=name, org=org, role=role, company_codes=frozenset(organisation.company_codes))
