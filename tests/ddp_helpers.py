"""DDP workers for the tests: the library's loop, then each rank saves what it holds.

They live in a module (not in a test function) because spawned processes must import them;
the training modules are imported inside the workers that need them (a worker starts faster).
"""

import os
import time
from pathlib import Path

import torch
import torch.distributed as dist

from vitst_utils import distributed


def train_and_dump(rank: int, world: int, cfg_dict: dict, run_dir: str) -> None:
    from vitst_utils.config import TrainConfig
    from vitst_utils.train import _run

    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    model = _run(TrainConfig.from_dict(cfg_dict), Path(run_dir), resume=False)
    torch.save(model.state_dict(), Path(run_dir) / f"rank{rank}.pt")


def train_with_rank1_late(rank: int, world: int, cfg_dict: dict, run_dir: str) -> None:
    """The loop, with rank 1's clock jumping past every limit as soon as its first epoch is
    trained (as if it ran late): a rank deciding alone would stop there while rank 0 goes on.
    Each rank writes the epochs it trained to rank<N>_epochs.txt."""
    import vitst_utils.train as T
    from vitst_utils.config import TrainConfig

    torch.set_num_threads(1)
    skew, trained = 0.0, []
    real_left, real_epoch = T._seconds_left, T._train_epoch

    def epoch(ctx, trainer, data, e):
        nonlocal skew
        row = real_epoch(ctx, trainer, data, e)
        trained.append(e)
        skew = 1e9 if rank == 1 else 0.0
        return row

    T._seconds_left = lambda ctx: real_left(ctx) - skew
    T._train_epoch = epoch
    T._run(TrainConfig.from_dict(cfg_dict), Path(run_dir), resume=False)
    (Path(run_dir) / f"rank{rank}_epochs.txt").write_text(" ".join(map(str, trained)))


def fail_on_rank1(rank: int, world: int, message: str) -> None:
    """Rank 1 raises while rank 0 waits for it in a collective that never completes."""
    distributed.init_process_group(timeout_minutes=10)
    if rank == 1:
        raise ValueError(message)
    dist.barrier()


def hang_guard(seconds: float):
    """A `distributed.spawn` poll that fails the run after `seconds` (a hang, not slowness)."""
    end = time.monotonic() + seconds

    def poll() -> None:
        if time.monotonic() > end:
            raise TimeoutError(f"the DDP processes ran over {seconds:.0f} s: a hang")

    return poll
