"""Sampling profiles of benchmark processes with py-spy, for ``--profile DIR``.

Each named process is sampled (every thread, without stopping it) while the
measurement runs; one file per process, in py-spy's raw format (one collapsed
stack per line with its sample count), is written into the directory.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def sampled(pids: Mapping[str, int], directory: Path | None, label: str) -> Iterator[None]:
    """Sample each process of ``pids`` into ``directory/<name>-<label>.txt`` (nothing if None)."""
    if directory is None:
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    spies = []
    for name, pid in pids.items():
        output = directory / f"{name}-{label}.txt"
        args = ["record", "--pid", str(pid), "--rate", "250", "--nonblocking"]
        args += ["--threads", "--format", "raw", "--output", str(output)]
        spies.append(
            subprocess.Popen(
                [str(py_spy), *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)
        for spy in spies:
            spy.wait(60)
