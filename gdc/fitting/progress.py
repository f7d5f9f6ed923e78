"""A live progress line for long fits, on stderr, only when stderr is a terminal (tqdm)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Called after every epoch; redraws at most five times a second, so it costs ~0.1 µs a call."""

    INTERVAL = 0.2  # seconds between redraws
    DELAY = 0.5     # fits that end sooner never show a bar

    def __init__(self, total: int, method: str, stream: TextIO):
        from tqdm import tqdm
        self.tqdm, self.total, self.method, self.stream = tqdm, total, method, stream
        self.bar = None
        self.next = None   # the clock starts at the first epoch, not while kernels load

    def __call__(self, epoch: int, loss: float, grad_norm: float, lr: float) -> None:
        now = time.perf_counter()
        if self.next is None:
            self.next = now + self.DELAY
        if now < self.next:
            return
        self.next = now + self.INTERVAL
        status = f"loss {loss:.6g}, |grad| {grad_norm:.3g}" + (f", lr {lr:.3g}" if lr == lr else "")
        if self.bar is None:
            self.bar = self.tqdm(total=self.total, initial=epoch, desc=f"gdc fit ({self.method})",
                                 unit="epoch", file=self.stream, leave=False, dynamic_ncols=True,
                                 mininterval=self.INTERVAL, postfix=status)
            return
        self.bar.set_postfix_str(status, refresh=False)
        self.bar.update(epoch - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def progress_bar(total: int, method: str, quiet: bool, stream: TextIO | None = None) -> Progress | None:
    """A Progress on a terminal unless quiet; None otherwise (and when tqdm is missing)."""
    stream = sys.stderr if stream is None else stream
    if quiet or not (hasattr(stream, "isatty") and stream.isatty()):
        return None
    try:
        return Progress(total, method, stream)
    except ImportError:
        return None
