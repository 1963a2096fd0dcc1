"""Processes that train together: starting them, their process group, and their decisions.

- `spawn` starts one process per rank (from a notebook too) and, when one fails, ends all of
  them and raises the failed worker's own exception here, not torch's `ProcessRaisedException`
  with every rank's traceback in its message.
- `init_process_group` sets an explicit timeout: NCCL's default of 10 min (pytorch PR #110947)
  is shorter than rank 0's work alone at an epoch end on a large dataset (prototype, checkpoint)
  or a slow first download.
- `any_rank` is the one collective behind every stop decision: a flag raised on any rank is
  raised on all, so no rank leaves the loop alone while the others wait in a collective.
"""

from __future__ import annotations

import os
import pickle
import socket
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist


class WorkerDied(RuntimeError):
    """A worker ended without an exception to pass on (killed by a signal, out of memory)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def init_process_group(timeout_minutes: float) -> None:
    """NCCL on GPUs, gloo on the CPU, from the RANK/WORLD_SIZE/MASTER_* environment, with a
    timeout of `timeout_minutes` for every collective (a rank waiting for rank 0's download,
    prototype or checkpoint waits that long before failing)."""
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, timeout=timedelta(minutes=timeout_minutes))


def any_rank(flags: torch.Tensor) -> torch.Tensor:
    """`flags` (0/1 floats) raised on any rank: one all_reduce(MAX), in place. Outside a
    process group, the flags as they are."""
    if initialized():
        dist.all_reduce(flags, op=dist.ReduceOp.MAX)
    return flags


def mean(values: torch.Tensor) -> torch.Tensor:
    """`values` averaged over the ranks (one all_reduce, in place); as they are outside a
    process group. For numbers every rank must use alike (the adaptive weight, the balance)."""
    if initialized():
        dist.all_reduce(values)
        values /= dist.get_world_size()
    return values


def agree(*flags: bool, device: torch.device | str = "cpu") -> list[bool]:
    """Each flag, true when any rank says so (see `any_rank`)."""
    vec = torch.tensor([float(f) for f in flags], device=device)
    return [v > 0 for v in any_rank(vec).tolist()]


# --- starting the processes ---------------------------------------------------------------------
def _portable(e: BaseException) -> BaseException:
    """`e` if it survives pickling (to reach the parent as itself), else a RuntimeError with its
    type and message."""
    try:
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:
        return RuntimeError(f"{type(e).__name__}: {e}")


def _worker(rank: int, world: int, errors: Any, fn: Callable, args: tuple) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    try:
        fn(rank, world, *args)
    except Exception as e:
        errors.put((rank, _portable(e), traceback.format_exc()))
        raise


def spawn(
    fn: Callable,
    args: tuple = (),
    nprocs: int = 2,
    poll: Callable[[], None] | None = None,
    grace_s: float = 3.0,
) -> None:
    """Run `fn(rank, world, *args)` in `nprocs` spawned processes (`fn` importable from a
    module) with RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and a free MASTER_PORT set; call
    `poll()` about once a second meanwhile (an exception there ends the workers too).

    When a worker raises, the others are ended (after `grace_s` to finish on their own) and
    its exception is raised here as it was raised there (with `worker_rank` and
    `worker_traceback` attributes); a worker killed without one gives `WorkerDied`."""
    import torch.multiprocessing as mp
    from torch.multiprocessing.spawn import ProcessException

    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ["MASTER_PORT"] = str(free_port())
    errors = mp.get_context("spawn").SimpleQueue()
    ctx = mp.start_processes(
        _worker,
        args=(nprocs, errors, fn, args),
        nprocs=nprocs,
        start_method="spawn",
        join=False,
    )
    failed: list[tuple[int, BaseException, str]] = []
    failed_at = None
    try:
        while True:
            try:
                done = ctx.join(timeout=1.0, grace_period=grace_s)
            except ProcessException as e:
                failed += _drain(errors)
                raise _first_error(failed, e.error_index, e) from None
            failed += _drain(errors)
            if poll is not None:
                poll()
            if done:
                return
            if failed:  # a worker reported an error but has not exited yet (cleaning up)
                failed_at = failed_at or time.monotonic()
                if time.monotonic() - failed_at > grace_s:
                    raise _first_error(failed, failed[0][0], None) from None
    finally:
        _end(ctx.processes)


def _drain(errors: Any) -> list[tuple[int, BaseException, str]]:
    out = []
    while not errors.empty():
        out.append(errors.get())
    return out


def _first_error(
    failed: list[tuple[int, BaseException, str]], index: int, cause: Exception | None
) -> BaseException:
    """The exception of worker `index` if it sent one, else the first sent, else WorkerDied.
    The worker's traceback rides along as `worker_traceback`."""
    ordered = sorted(failed, key=lambda f: f[0] != index)
    if not ordered:
        return WorkerDied(f"DDP worker {index} ended without an error message: {cause}")
    rank, exc, tb = ordered[0]
    exc.worker_rank, exc.worker_traceback = rank, tb
    return exc


def _end(processes: list) -> None:
    """Terminate what still runs (SIGTERM, then SIGKILL after 10 s) and reap everything."""
    for p in processes:
        if p.is_alive():
            p.terminate()
    for p in processes:
        p.join(10)
        if p.is_alive():
            p.kill()
            p.join()
