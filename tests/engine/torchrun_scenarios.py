"""Run under torchrun by tests/engine/test_distributed.py (a classification unit) and
tests/segmentation/test_mask_distributed.py (a mask unit): several `podium train --fold 0
--seed 0` commands in the same processes (one process group, as the CLI makes it), with
what each rank wrote and the evaluated (EMA) weights each rank saw recorded per rank.

    torchrun --standalone --nproc-per-node 2 --max-restarts 1 \
        tests/engine/torchrun_scenarios.py SPEC OUT

SPEC is a JSON list of {"config": path, "overrides": [...]}; after each command,
OUT/rank{r}-attempt{a}.json gets, per command so far, its exit status, the checkpoint files
this rank wrote and a checksum of the evaluated weights at each validation. A command
stopped by `train.stop_after_epoch` ends the processes (as a crash would): torchrun
restarts them (attempt 1), and the commands run again, resuming or skipping; rank 1 joins
the restarted group 3 s after rank 0.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

import torch  # noqa: E402

import podium.engine.checkpoint as checkpoint  # noqa: E402
import podium.engine.trainer as trainer  # noqa: E402
from podium.cli import main  # noqa: E402

torch.set_num_threads(1)
spec, out = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2])
rank = int(os.environ["RANK"])
record: dict = {}

save_with, predict_logits = checkpoint.save_with, trainer.predict_logits


def counting_save(path, write, **kwargs):
    record["writes"].append(Path(path).name)
    return save_with(path, write, **kwargs)


def checksummed_predict(net, *args, **kwargs):
    record["evaluated"].append(sum(float(v.double().sum()) for v in net.state_dict().values()))
    return predict_logits(net, *args, **kwargs)


checkpoint.save_with = counting_save
trainer.predict_logits = checksummed_predict

attempt = int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))
if attempt and rank:  # restarted, rank 0 joins first while the dead attempt's addresses are
    time.sleep(3)  # still in torchrun's store: it must wait for this rank's new ones
runs = []
for command in spec:
    record = {"writes": [], "evaluated": []}
    runs.append(record)
    argv = ["-q", "train", "-c", command["config"], "--fold", "0", "--seed", "0"]
    record["exit"] = main([*argv, *command["overrides"]])  # Interrupted ends the process
    (out / f"rank{rank}-attempt{attempt}.json").write_text(json.dumps(runs))
