"""A DDP worker for the tests: the library's loop, then each rank saves what it holds.

It lives in a module (not in a test function) because spawned processes must import it.
"""

import os
from pathlib import Path

import torch

from vitst_utils.config import TrainConfig
from vitst_utils.train import _run


def train_and_dump(rank: int, world: int, cfg_dict: dict, run_dir: str) -> None:
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    model = _run(TrainConfig.from_dict(cfg_dict), Path(run_dir), resume=False)
    torch.save(model.state_dict(), Path(run_dir) / f"rank{rank}.pt")
