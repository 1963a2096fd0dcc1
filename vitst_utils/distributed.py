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

import logging
import os
import pickle
import socket
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from tqdm.auto import tqdm

log = logging.getLogger(__name__)


class WorkerDied(RuntimeError):
    """A worker ended without an exception to pass on (killed by a signal, out of memory)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launched() -> bool:
    """True in one rank of a launched world (torchrun or `spawn` set WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def initialized() -> bool:
    return dist.is_available() and dist.is_initialized()


def init_process_group(timeout_minutes: float) -> None:
    """NCCL on GPUs, gloo on the CPU, from the RANK/WORLD_SIZE/MASTER_* environment, with a
    timeout of `timeout_minutes` for every collective (a rank waiting for rank 0's download,
    prototype or checkpoint waits that long before failing)."""
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, timeout=timedelta(minutes=timeout_minutes))


def join(timeout_minutes: float) -> tuple[int, int, torch.device]:
    """This process's (rank, world size, device): in a launched world, after joining its
    process group (`init_process_group`); else (0, 1, the first GPU or the CPU). The device is
    made current."""
    multi = launched()
    if multi and not dist.is_initialized():
        init_process_group(timeout_minutes)
    rank = dist.get_rank() if multi else 0
    world = dist.get_world_size() if multi else 1
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    cuda = torch.cuda.is_available()
    device = torch.device(f"cuda:{local_rank}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    return rank, world, device


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


def spawn_relaying(
    fn: Callable,
    args: tuple,
    nprocs: int,
    log_file: Path,
    done: Callable[[], int],
    total: int,
) -> None:
    """`spawn`, relaying the lines rank 0 appends to `log_file` into this process's log as they
    come, under a bar of `done()` out of `total` (epochs): a notebook does not show its child
    processes' output."""
    pos = log_file.stat().st_size if log_file.is_file() else 0
    with tqdm(total=total, desc=f"DDP x{nprocs}", unit="epoch", leave=False) as bar:

        def relay() -> None:
            nonlocal pos
            if log_file.is_file():
                with open(log_file) as f:
                    f.seek(pos)
                    for line in f.read().splitlines():
                        log.info(line)
                    pos = f.tell()
            bar.n = done()
            bar.refresh()

        try:
            spawn(fn, args, nprocs, poll=relay)
        finally:
            relay()


def peak_memory_mib(device: torch.device, rank: int, world: int) -> list[float]:
    """Every rank's peak GPU memory reserved by torch, in MiB, gathered on all ranks ([] on
    the CPU). A collective: every rank calls it at the same point."""
    if device.type != "cuda":
        return []
    vec = torch.zeros(world, device=device)
    vec[rank] = torch.cuda.max_memory_reserved(device) / 2**20
    if world > 1:
        dist.all_reduce(vec)
    return [round(v, 1) for v in vec.tolist()]
