"""Files written all at once or not at all: a kill at any moment leaves the old file or the
new one, never a part of either."""
import os
from pathlib import Path


def write_atomically(path, write):
    """Write ``path`` through ``write(temp)``, which writes the file ``temp``: a hidden name in
    the same folder (.NAME.PID.tmp), so that the rename stays on one file system. ``temp`` is
    flushed to disk, then renamed over ``path``; if anything fails on the way, ``temp`` is
    removed and ``path`` is as it was."""
    path = Path(path)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(temp)
        descriptor = os.open(temp, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # the bytes are on disk before the name points at them
        finally:
            os.close(descriptor)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
