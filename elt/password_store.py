"""Generated passwords kept in owner-only files: one file per login under ``<warehouse home>/secrets``.

The folder is created with mode 0700 and each file with 0600, exclusively (``O_EXCL``), so two commands
starting at once agree on one password. A folder or file that others may read is refused: a password
another OS user could have read is no secret.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from elt.errors import EltError

_PASSWORD_BYTES = 24


@dataclass(frozen=True)
class PasswordStore:
    """Passwords of one warehouse, by login name, in ``folder``."""

    folder: Path

    def path(self, name: str) -> Path:
        """File holding the password of ``name``."""
        return self.folder / f"{name}.password"

    def get_or_create(self, name: str) -> str:
        """The stored password of ``name``; generated and stored on first use."""
        existing = self.get(name)
        if existing is not None:
            return existing
        self._make_private_folder()
        password = secrets.token_urlsafe(_PASSWORD_BYTES)
        try:
            handle = os.open(self.path(name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:  # another command stored it first: use that one
            stored = self.get(name)
            assert stored is not None
            return stored
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(password + "\n")
        return password

    def get(self, name: str) -> str | None:
        """The stored password of ``name``, or None when there is none yet."""
        path = self.path(name)
        try:
            info = path.lstat()
        except FileNotFoundError:
            return None
        _require_private(path, info, 0o600)
        _require_private(self.folder, self.folder.lstat(), 0o700)
        password = path.read_text(encoding="utf-8").strip()
        if not password:
            raise EltError(f"the password file {path} is empty: delete it and run `elt up` to generate a new one")
        return password

    def _make_private_folder(self) -> None:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.folder.mkdir(mode=0o700)
        except FileExistsError:
            _require_private(self.folder, self.folder.lstat(), 0o700)


def _require_private(path: Path, info: os.stat_result, mode: int) -> None:
    expected = stat.S_ISDIR if mode == 0o700 else stat.S_ISREG
    if not expected(info.st_mode) or info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) & 0o077:
        raise EltError(
            f"{path} must be a {'folder' if mode == 0o700 else 'file'} of uid {os.geteuid()} that only its owner "
            f"may read (mode {mode:04o}; found uid {info.st_uid}, mode {stat.S_IMODE(info.st_mode):04o}"
            f"{', a symbolic link' if stat.S_ISLNK(info.st_mode) else ''}): fix it with chmod, "
            "or delete it to generate new passwords"
        )
