"""The journal that makes ``relabel`` resumable: each labelled chunk becomes one part file
in ``<output>.parts/``, written to a temporary name, fsynced and renamed, so a kill at any
moment (kill -9 included) leaves only whole parts. A manifest records what the run reads
and how; a resume with another input, model or options is refused. When every chunk is
done the parts are concatenated into the output (again atomically) and the folder goes.

::

    out.csv.parts/manifest.json           settings of the run
    out.csv.parts/000000.stats.json       counts of chunk 0 (written before its part)
    out.csv.parts/000000.csv              chunk 0's output rows
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import InputError, OutputError

MANIFEST = "manifest.json"
BLOCK = 1 << 20


def input_fingerprint(path: str | Path) -> dict[str, Any]:
    """What tells the same input from a changed or different one: its path, size and the
    sha256 of all of its bytes (a change anywhere, size and mtime kept, is seen; reading
    the file costs 2-3 s per GB on a loaded 2-core machine). An input that is not a
    regular file (a pipe) cannot be read twice: it gets ``"sha256": None``, and a resume
    is refused."""
    import stat

    p = Path(path)
    st = p.stat()
    if not stat.S_ISREG(st.st_mode):
        return {"input": str(p.resolve()), "size": None, "sha256": None}
    digest = hashlib.sha256()
    with open(p, "rb") as f:
        while block := f.read(BLOCK):
            digest.update(block)
    return {"input": str(p.resolve()), "size": st.st_size, "sha256": digest.hexdigest()}


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Write ``path`` through a temporary file, fsync and rename: all of it or none."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class Journal:
    """The parts folder of one output file."""

    def __init__(self, output: str | Path, settings: dict[str, Any], ext: str) -> None:
        self.output = Path(output)
        self.dir = self.output.with_name(self.output.name + ".parts")
        self.settings = settings
        self.ext = ext

    def _part(self, index: int) -> Path:
        return self.dir / f"{index:06d}.{self.ext}"

    def _stats(self, index: int) -> Path:
        return self.dir / f"{index:06d}.stats.json"

    def start(self, resume: bool) -> int:
        """Open the journal; return how many chunks are done already (0 for a new run)."""
        if self.dir.exists():
            if not resume:
                raise OutputError(f"{self.output} has an unfinished run in {self.dir}; pass --resume to finish "
                                  f"it, or delete {self.dir} to start over.")
            try:
                old = json.loads((self.dir / MANIFEST).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                raise OutputError(f"{self.dir} has no readable {MANIFEST}; delete {self.dir} to start over.") from None
            diff = sorted(k for k in set(old) | set(self.settings) if old.get(k) != self.settings.get(k))
            if diff:
                shown = "; ".join(f"{k}: was {old.get(k)!r}, now {self.settings.get(k)!r}" for k in diff)
                raise InputError(f"cannot resume: the unfinished run in {self.dir} differs ({shown}). Rerun "
                                 f"with the same input, model and options, or delete {self.dir} to start over.")
            for tmp in self.dir.glob("*.tmp"):  # a write cut short by the kill
                tmp.unlink()
            done = 0
            while self._part(done).exists() and self._stats(done).exists():
                done += 1
            return done
        try:
            self.dir.mkdir(parents=False)
            atomic_write(self.dir / MANIFEST, lambda f: f.write(json.dumps(self.settings, indent=1).encode()))
        except OSError as exc:
            raise OutputError(f"cannot write {self.dir}: {exc.strerror or exc}; check the output folder.") from None
        return 0

    def write_part(self, index: int, write: Callable[[BinaryIO], None], stats: Counter) -> None:
        """Stats first, then the part: a part on disk always has its stats."""
        atomic_write(self._stats(index), lambda f: f.write(json.dumps(stats).encode()))
        atomic_write(self._part(index), write)

    def stats(self, index: int) -> Counter:
        return Counter(json.loads(self._stats(index).read_text(encoding="utf-8")))

    def finish(self, chunks: int, merge: Callable[[list[Path], BinaryIO], None]) -> None:
        """Concatenate the ``chunks`` parts into the output and remove the folder."""
        parts = [self._part(i) for i in range(chunks)]
        missing = [p.name for p in parts if not p.exists()]
        if missing:  # cannot happen unless someone edits the folder
            raise OutputError(f"{self.dir} lacks parts {missing[:5]}; delete {self.dir} and run again.")
        atomic_write(self.output, lambda f: merge(parts, f))
        shutil.rmtree(self.dir)
