"""Atomic file output: a failed or interrupted job leaves nothing that looks finished."""

from __future__ import annotations

import os
from pathlib import Path


def temporary_sibling(path: str | Path) -> Path:
    """A hidden temporary path next to ``path`` (same file system, so rename is atomic)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write text to ``path`` through a temporary file and a rename."""
    tmp = temporary_sibling(path)
    try:
        tmp.write_text(text)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return Path(path)
