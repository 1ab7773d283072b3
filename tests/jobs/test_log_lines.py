"""Worker log lines in words (issue 12, item 8): the Trainer's dicts with quoted numbers become
'loss 2.345 · grad norm 1.02 …'; other lines are untouched."""
from __future__ import annotations

from studio.jobs.log_lines import readable_log, readable_line

TRAINER = "{'loss': '2.345', 'grad_norm': '1.021', 'learning_rate': '0.0002', 'epoch': '0.5'}"
SUMMARY = "{'train_runtime': '12.34', 'train_samples_per_second': '9.87', 'train_loss': '2.1', 'total_flos': 1e12}"


def test_trainer_dicts_read_as_words():
    assert readable_line(TRAINER) == "loss 2.345 · grad norm 1.021 · lr 0.0002 · epoch 0.5"
    assert readable_line(SUMMARY) == "trained for 12.34 s · train samples per second 9.87 · mean train loss 2.1"
    for other in ("packing: on (rows kept apart)", "{not a dict", "{'a': __import__('os')}", "{}"):
        assert readable_line(other) == other
    assert readable_log(f"start\n{TRAINER}\n") == "start\nloss 2.345 · grad norm 1.021 · lr 0.0002 · epoch 0.5"
