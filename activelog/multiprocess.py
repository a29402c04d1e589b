"""prometheus_client's multiprocess files, kept to a bounded number however often workers recycle.

In multiprocess mode every process writes its samples to files named ``<type>_<pid>.db`` in
PROMETHEUS_MULTIPROC_DIR, and a scrape reads every file. A dead worker's counters and histograms
must keep counting (a total must not drop when a worker is replaced), so its files stay, and
without compaction a scrape reads one more set of files per recycled worker: 6 ms with two, about
50 ms with 17, over a second with 800.

``retire_process`` runs when a process has died (gunicorn's master in ``child_exit``; a Celery
pool process as it shuts down): it drops the process's live gauges, adds its counter, histogram
and summary values into one archive file per type (``counter_archive.db``…) and deletes its
files. Scrapes and compaction take a lock on one file in the directory (shared for scrapes,
exclusive for compaction), so a scrape never sees a value twice or not at all. Gauges of the
non-live modes (``all``, ``sum``, ``min``, ``max``, ``mostrecent``) keep their per-process files:
their value is the process's own, not something to add up. ActiveLog has only ``livesum`` gauges.

No Django here: gunicorn's master imports this module and must not set up the app.
"""

import fcntl
import glob
import os
from contextlib import contextmanager

from prometheus_client import multiprocess
from prometheus_client.mmap_dict import MmapedDict

LOCK_FILE = "compaction.lock"  # not *.db: the collector never reads it
ADDITIVE_TYPES = ("counter", "histogram", "summary")
ARCHIVE = "archive"


@contextmanager
def _locked(directory: str, *, exclusive: bool):
    descriptor = os.open(os.path.join(directory, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


class LockedMultiProcessCollector(multiprocess.MultiProcessCollector):
    """The standard collector, reading the files under the shared lock."""

    def collect(self):
        with _locked(self._path, exclusive=False):
            return super().collect()


def retire_process(pid: int, directory: str | None) -> None:
    """Fold a dead process's additive samples into the archive files and delete its files."""
    if not directory or not os.path.isdir(directory):
        return
    with _locked(directory, exclusive=True):
        multiprocess.mark_process_dead(pid, directory)
        for kind in ADDITIVE_TYPES:
            path = os.path.join(directory, f"{kind}_{pid}.db")
            if os.path.exists(path):
                _add_into(os.path.join(directory, f"{kind}_{ARCHIVE}.db"), path)
                os.remove(path)


def _add_into(archive_path: str, dead_path: str) -> None:
    values = MmapedDict.read_all_values_from_file(dead_path)
    archive = MmapedDict(archive_path)
    try:
        for key, value, timestamp, _position in values:
            current, _ = archive.read_value(key)
            archive.write_value(key, current + value, timestamp)
    finally:
        archive.close()


def file_count(directory: str) -> int:
    return len(glob.glob(os.path.join(directory, "*.db")))
