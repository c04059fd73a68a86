"""The ``crisis-nlp`` command line with a pause after the N-th relabel part is written
(``python tests/pausing_cli.py N relabel ...``), so that a test can kill or interrupt a run
in the middle however fast the machine is. The pause lives here, not in the library: it
wraps ``Journal.write_part`` before the command runs."""

import sys
import time

from crisis_nlp.batch.journal import Journal
from crisis_nlp.cli import main

PAUSE_SECONDS = 600  # longer than any test waits: the test ends the run


def _pause_after(n: int) -> None:
    write_part = Journal.write_part

    def write_then_pause(self, index, write, stats):
        write_part(self, index, write, stats)
        if index + 1 == n:
            time.sleep(PAUSE_SECONDS)

    Journal.write_part = write_then_pause


if __name__ == "__main__":
    _pause_after(int(sys.argv[1]))
    raise SystemExit(main(sys.argv[2:]))
