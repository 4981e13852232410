"""The process's lane for heavy work: image pre-checks, OCR, roster reading, exports, PDF rendering.

Heavy work runs off the event loop in a small pool of worker threads (one by default), so a burst of
uploads queues here instead of decoding ten images at once: memory stays what one job needs, and the
loop keeps answering everyone else. Call it from async code, never inside a database transaction (on
SQLite the transaction holds the only write lock for as long as the job runs):

    result = await run_heavy(precheck, data, purpose="agreement", timeout=60)

``EQA_HEAVY_WORKERS`` sets the pool size (read once, when the pool is first used).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

__all__ = ["HeavyTimeout", "heavy_workers", "run_heavy", "run_isolated"]

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_TIMEOUT = 120.0  # s; a job that takes longer is given up on (its thread finishes in the background)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_processes: ProcessPoolExecutor | None = None


class HeavyTimeout(TimeoutError):
    """The job did not finish in time; the caller should say so rather than wait."""


def heavy_workers() -> int:
    try:
        return max(1, min(8, int(os.environ.get("EQA_HEAVY_WORKERS", "1"))))
    except ValueError:
        return 1


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=heavy_workers(), thread_name_prefix="eqa-heavy")
        return _pool


async def run_heavy(
    fn: Callable[P, T], /, *args: P.args, timeout: float | None = DEFAULT_TIMEOUT, **kwargs: P.kwargs
) -> T:
    """Run ``fn(*args, **kwargs)`` in the heavy-work pool and await its result.

    Jobs wait their turn (first come, first served). ``timeout`` counts from submission, queueing
    included; on expiry ``HeavyTimeout`` is raised. Exceptions of ``fn`` propagate unchanged.
    """
    loop = asyncio.get_running_loop()
    call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    future = loop.run_in_executor(_executor(), call)
    try:
        return await asyncio.wait_for(future, timeout)
    except TimeoutError as exc:
        raise HeavyTimeout(f"{getattr(fn, '__name__', 'job')} took more than {timeout} s") from exc


def _process_pool() -> ProcessPoolExecutor:
    global _processes
    with _lock:
        if _processes is None:
            context = multiprocessing.get_context("forkserver")
            # Not the default ["__main__"]: the worker needs no entry script (pytest's, eqa-bot's) re-imported.
            context.set_forkserver_preload(["storage.xlsx_write"])
            _processes = ProcessPoolExecutor(max_workers=1, mp_context=context)
        return _processes


def _forget_pool(pool: ProcessPoolExecutor) -> None:
    global _processes
    with _lock:
        if _processes is pool:
            _processes = None


async def run_isolated(fn: Callable[..., T], /, *args: object, timeout: float | None = DEFAULT_TIMEOUT) -> T:
    """Run ``fn(*args)`` in a worker process (one, kept for the next job) and await its result.

    For work that starves the event loop even from a thread: writing an .xlsx gives up and retakes the
    GIL at every small write, and CPython then hands it back to the writer rather than to the waiting loop
    (the "convoy"), so a reply could wait the whole export. ``fn`` and ``args`` must pickle: a module-level
    function and plain data. A worker that died (killed for memory) is replaced at the next call. As with any
    multiprocessing start but fork, the worker imports the entry script: keep it behind
    ``if __name__ == "__main__"`` (the `eqa-bot` script, pytest and `python -m bench` are).
    """
    pool = _process_pool()
    try:
        # Submitting may start the worker (a fork from the fork server): not on the loop's thread.
        future = await asyncio.to_thread(pool.submit, fn, *args)
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
    except BrokenProcessPool:
        _forget_pool(pool)
        raise
    except TimeoutError as exc:
        raise HeavyTimeout(f"{getattr(fn, '__name__', 'job')} took more than {timeout} s") from exc
