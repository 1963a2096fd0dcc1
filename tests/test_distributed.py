"""distributed.py: spawning workers, a worker's error reaching the parent as itself, and the
relay of rank 0's log (the DDP training runs themselves: test_train.py)."""

import logging

import pytest

from vitst_utils import distributed


def test_a_worker_error_ends_every_worker_and_reaches_the_parent_as_itself():
    """Rank 1 raises while rank 0 waits for it in a barrier: the parent gets rank 1's own
    ValueError (not torch's ProcessRaisedException holding a traceback) and no process is left."""
    from ddp_helpers import fail_on_rank1, hang_guard

    message = "rank 1 could not read /data/AnimeFace/train/0042.png"
    with pytest.raises(ValueError) as caught:
        distributed.spawn(fail_on_rank1, (message,), 2, poll=hang_guard(120))
    assert str(caught.value) == message and type(caught.value) is ValueError
    assert caught.value.worker_rank == 1 and "Traceback" in caught.value.worker_traceback
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def _log_three_lines(rank: int, world: int, log_file: str) -> None:
    if rank == 0:
        with open(log_file, "a") as f:
            f.write("epoch 1\nepoch 2\nepoch 3\n")


def test_spawn_relaying_passes_rank_0s_new_lines_on(tmp_path, caplog):
    """Lines already in the log are not relayed again; the new ones arrive in order."""
    log_file = tmp_path / "train.log"
    log_file.write_text("an earlier session's line\n")
    with caplog.at_level(logging.INFO, logger="vitst_utils.distributed"):
        distributed.spawn_relaying(
            _log_three_lines, (str(log_file),), 2, log_file, done=lambda: 3, total=3
        )
    relayed = [r.message for r in caplog.records if r.name == "vitst_utils.distributed"]
    assert relayed == ["epoch 1", "epoch 2", "epoch 3"]
