"""Atomic file writes: a failed or killed step leaves the previous file whole."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "atomic_write_bytes", "atomic_write_text"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success move it over ``target``.

    The temporary file lives in the same directory, so the final ``os.replace``
    is atomic on POSIX. On any exception the temporary file is removed and
    ``target`` is untouched.

    Parameters
    ----------
    target : path-like
        Final location of the file.
    suffix : str, optional
        Suffix of the temporary file (some writers choose the format by suffix);
        defaults to the target's own suffix.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=(target.suffix if suffix is None else suffix),
        dir=target.parent,
    )
    os.close(fd)
    os.unlink(tmp)  # writers such as GDAL refuse to overwrite; let them create it
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if not tmp_path.exists():
            msg = f"writer produced no file at {tmp_path} for {target}"
            raise OSError(msg)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically (fsync'd before the rename)."""
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_text(target: str | os.PathLike, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``target`` atomically."""
    atomic_write_bytes(target, text.encode(encoding))
