"""`podium lr-find`: the learning-rate range test on fold 0's training rows. Prints the
suggested `train.lr` and writes `lr_find.csv` and `lr_find.png` beside the experiment."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from podium.artifacts import save_with, write_csv  # noqa: E402
from podium.engine.lr_find import LRFindResult, lr_find  # noqa: E402
from podium.experiment import Experiment  # noqa: E402
from podium.units.train import fold_rows  # noqa: E402


def run(exp: Experiment, steps: int = 100) -> LRFindResult:
    rows, _ = fold_rows(exp, exp.cfg.fold_ids()[0])
    result = lr_find(exp.cfg, exp.task, rows, steps=steps)
    out = exp.run_dir
    write_csv(out / "lr_find.csv", pd.DataFrame({"lr": result.lrs, "loss": result.losses}))
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(result.lrs, result.losses)
    ax.axvline(
        result.suggestion,
        color="red",
        linestyle="--",
        label=f"suggested lr {result.suggestion:.2e}",
    )
    ax.set(
        xscale="log",
        xlabel="learning rate",
        ylabel="smoothed loss",
        title=f"lr-find {exp.cfg.name}",
    )
    ax.legend()
    save_with(
        out / "lr_find.png", lambda p: fig.savefig(p, dpi=100, bbox_inches="tight", format="png")
    )
    plt.close(fig)
    print(
        f"lr-find {exp.cfg.name}: suggested train.lr={result.suggestion:.2e} ({len(result.lrs)} steps) -> {out / 'lr_find.png'}"
    )
    return result
