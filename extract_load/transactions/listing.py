"""List transaction drops in a local folder or any fsspec URL (``file://``, ``s3://``, ``gs://``, ...)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

import fsspec

from extract_load.transactions.readers import detect_format


@dataclass(frozen=True)
class DropFile:
    """One file in the landing area: path relative to the landing root, and its version (mtime, size)."""

    url: str
    relative_path: str
    modified_at_us: int
    size: int
    file_format: str
    gzipped: bool

    @property
    def version(self) -> list[int]:
        """What identifies this version of the file in the incremental state."""
        return [self.modified_at_us, self.size]


class Landing:
    """The landing area: a folder or URL, opened once with fsspec."""

    def __init__(self, bucket_url: str, storage_options: dict[str, Any] | None = None) -> None:
        self.bucket_url = resolve_local(bucket_url)
        try:
            self.fs, root = fsspec.core.url_to_fs(self.bucket_url, **(storage_options or {}))
        except (ValueError, ImportError, OSError) as exc:
            raise FileNotFoundError(f"cannot open the landing area {self.bucket_url}: {exc}") from exc
        self.root = root.rstrip("/")

    def files(self) -> list[DropFile]:
        """Every CSV / JSONL / Parquet (optionally .gz) file below the root, in path order."""
        self.fs.invalidate_cache()  # fsspec caches listings (and S3 ETags) across instances and runs
        if not self.fs.exists(self.root):
            return []
        found = []
        for path, info in sorted(self.fs.find(self.root, detail=True).items()):
            detected = detect_format(path)
            if detected is None or info.get("type") == "directory":
                continue
            relative = path[len(self.root) :].lstrip("/")
            found.append(
                DropFile(
                    url=self.fs.unstrip_protocol(path),
                    relative_path=relative,
                    modified_at_us=_modified_at_us(info),
                    size=int(info.get("size") or 0),
                    file_format=detected[0],
                    gzipped=detected[1],
                )
            )
        return found

    @contextmanager
    def open(self, drop: DropFile) -> Iterator[BinaryIO]:
        """Open a listed file for binary reading."""
        with self.fs.open(self.root + "/" + drop.relative_path, "rb") as handle:
            yield handle


def resolve_local(bucket_url: str) -> str:
    """Relative local paths are relative to the project (``DLT_PROJECT_DIR``), not to the current directory."""
    if "://" in bucket_url or os.path.isabs(bucket_url):
        return bucket_url
    return str(Path(os.environ.get("DLT_PROJECT_DIR", os.getcwd())) / bucket_url)


def _modified_at_us(info: dict[str, Any]) -> int:
    value = info.get("mtime", info.get("LastModified", info.get("last_modified", info.get("created"))))
    if isinstance(value, datetime):
        return int(value.timestamp() * 1_000_000)
    if value is None:
        raise ValueError(f"the file system reports no modification time for {info.get('name')}")
    return int(float(value) * 1_000_000)
