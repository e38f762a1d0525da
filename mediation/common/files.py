"""Files the service writes are readable by its own user only: 0600 files in 0700 folders.

Uploads, signing keys and certificates, the instance's secret key, exports, import reports and
backups hold personal data or secrets; they never depend on the process's umask."""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: str | Path) -> Path:
    """Create ``path`` (and missing parents) and make it 0700."""
    path = Path(path)
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def create_private(path: str | Path) -> Path:
    """Create ``path`` empty, or truncate it, with mode 0600 (also when it existed with another mode),
    for tools that then open it themselves (sqlite3, pg_dump -f)."""
    with open_private(path):
        pass
    return Path(path)


def open_private(path: str | Path, mode: str = "wb", **kwargs) -> IO:
    """``open(path, mode)`` for writing, the file created 0600 from the start (no window in which it
    is readable by others) and reset to 0600 if it existed."""
    if not any(m in mode for m in "wax"):
        raise ValueError("open_private is for writing")
    flags = os.O_WRONLY | os.O_CREAT
    if "w" in mode:
        flags |= os.O_TRUNC
    elif "a" in mode:
        flags |= os.O_APPEND
    else:
        flags |= os.O_EXCL
    fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, mode.replace("x", "w"), **kwargs)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: str | Path, data: bytes | str) -> Path:
    """Write ``data`` to ``path`` with mode 0600."""
    if isinstance(data, str):
        with open_private(path, "w", encoding="utf-8") as fh:
            fh.write(data)
    else:
        with open_private(path, "wb") as fh:
            fh.write(data)
    return Path(path)
