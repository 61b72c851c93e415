"""`podium <stage> -c CONFIG [key=value ...]`: the one entry point. Thin on purpose: parse,
set up logging, hand the request to the pipeline (which runs what the stage needs first);
user errors print one clear message and exit 2.

A config with an `ensemble.members` list stands for its members in train / oof / infer, so
`podium train -c configs/digits/ensemble.yaml` trains every member (`--exp NAME` narrows).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")

from podium.errors import USER_ERRORS  # noqa: E402
from podium.logs import setup_logging  # noqa: E402

STAGES = {
    "folds": "assign folds: runs/<comp>/folds.csv",
    "train": "train every fold x seed (or one unit)",
    "oof": "out-of-fold predictions with TTA and the CV score",
    "infer": "test predictions with TTA, averaged over folds x seeds",
    "lr-find": "learning-rate range test on fold 0: suggests train.lr",
    "ensemble": "stack members' OOF with XGBoost, blend, pick by CV, submit",
    "submit": "write a validated submission CSV",
    "score": "score a submission against the competition's solution.csv",
    "pseudo": "pseudo-label with a teacher and train the student",
    "tune": "an Optuna study over config keys",
}
FORCE = {"folds", "train", "oof", "infer", "ensemble", "submit", "pseudo"}
EXP = {"train", "oof", "infer", "lr-find"}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="podium", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    verbosity = p.add_mutually_exclusive_group()
    verbosity.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")
    verbosity.add_argument("-v", "--verbose", action="store_true", help="debug messages too")
    sub = p.add_subparsers(dest="stage", required=True, metavar="STAGE")
    demo = sub.add_parser(
        "demo-data", help="write the embedded digits competition under DATA/digits"
    )
    demo.add_argument("--data", default="data", help="data folder (default: data)")
    demo.add_argument(
        "--task",
        choices=["multiclass", "regression", "ordinal"],
        default="multiclass",
        help="multiclass: DATA/digits (the label); regression: DATA/digits_regression (a noisy "
        "numeric value); ordinal: DATA/digits_ordinal (grades 0-4)",
    )
    for name, help in STAGES.items():
        sp = sub.add_parser(name, help=help, description=help)
        sp.add_argument(
            "-c", "--config", required=True, help="YAML config (experiment, ensemble, pseudo, tune)"
        )
        sp.add_argument(
            "overrides",
            nargs="*",
            metavar="key=value",
            help="dotted overrides, e.g. train.epochs=3",
        )
        if name in FORCE:
            sp.add_argument("--force", action="store_true", help="redo this stage's finished work")
        if name in EXP:
            sp.add_argument("--exp", help="with an ensemble config: only this member")
    sub.choices["train"].add_argument("--fold", type=int)
    sub.choices["train"].add_argument("--seed", type=int)
    sub.choices["lr-find"].add_argument("--steps", type=int, default=100)
    sub.choices["score"].add_argument(
        "--submission", help="a CSV (default: the config's current submission, made if missing)"
    )
    return p


def _run(args: argparse.Namespace) -> None:
    if args.stage == "demo-data":
        from podium.stages.demo_data import write_demo  # local for import cost: cv2, sklearn

        write_demo(Path(args.data), task=args.task)
        return
    from podium import pipeline  # local for import cost: `podium --help` needs no torch

    request = pipeline.Request(
        config=Path(args.config),
        overrides=args.overrides,
        force=getattr(args, "force", False),
        exp=getattr(args, "exp", None),
        fold=getattr(args, "fold", None),
        seed=getattr(args, "seed", None),
    )
    options = {}
    if args.stage == "lr-find":
        options["steps"] = args.steps
    if args.stage == "score" and args.submission:
        options["submission"] = Path(args.submission)
    pipeline.run(args.stage, request, **options)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(-1 if args.quiet else 1 if args.verbose else 0)
    try:
        _run(args)
    except USER_ERRORS as e:
        message = "; ".join(line.strip() for line in str(e).splitlines() if line.strip())
        print(f"podium {args.stage}: error: {message}", file=sys.stderr)  # one line
        return 2
    except KeyboardInterrupt:
        print(
            f"podium {args.stage}: interrupted; re-run the same command to resume", file=sys.stderr
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
