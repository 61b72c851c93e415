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
    "export": "an offline inference bundle (Kaggle code competitions): weights, manifest, wheel",
    "weights": "fetch the pretrained weight files a config needs (cache, or --out DIR)",
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
        choices=[
            "multiclass",
            "hard",
            "regression",
            "multilabel",
            "ordinal",
            "metadata",
            "segmentation",
            "series",
            "multitarget",
            "series_multitarget",
            "series_studies",
            "volumes",
        ],
        default="multiclass",
        help="multiclass: DATA/digits (the label); hard: DATA/digits_hard (rotated, cluttered, "
        "occluded, noisy renders of the same digits: the ensemble demo); regression: "
        "DATA/digits_regression (a noisy numeric value); multilabel: DATA/digits_multilabel (space-separated tags); ordinal: "
        "DATA/digits_ordinal (grades 0-4); metadata: DATA/digits_metadata (a label that needs "
        "tabular metadata); segmentation: DATA/digits_segmentation (digit masks as run-lengths); series: "
        "DATA/digits_series (DICOM series, one label per study); multitarget: "
        "DATA/digits_multitarget (two targets: parity and the digit mod 3); series_multitarget: "
        "DATA/digits_series_multitarget (two targets per study); series_studies: "
        "DATA/digits_series_studies (one or two series per study); volumes: DATA/digits_volumes "
        "(NIfTI volumes at varying spacings, one label per volume)",
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
    for name in ("train", "oof", "infer", "pseudo", "tune"):
        sub.choices[name].add_argument(
            "--devices",
            help="a device pool, e.g. 0,1 (or cpu,cpu): fold x seed units (tune: workers) in "
            "parallel, one process per device; oof/infer/pseudo train missing units this way",
        )
    sub.choices["train"].add_argument("--fold", type=int)
    sub.choices["train"].add_argument("--seed", type=int)
    sub.choices["lr-find"].add_argument("--steps", type=int, default=100)
    sub.choices["tune"].add_argument(
        "--mkdir",
        action="store_true",
        help="make tune.storage's missing folder even outside the runs folder",
    )
    export = sub.choices["export"]
    export.add_argument("--out", help="bundle folder (default: the run folder's bundle/)")
    export.add_argument("--half", action="store_true", help="store the weights as fp16")
    export.add_argument(
        "--wheels",
        nargs="+",
        metavar="SPEC",
        help="also download these requirements' wheels (pip download: uses the network)",
    )
    sub.choices["weights"].add_argument("--out", help="copy the files into this folder")
    predict = sub.add_parser(
        "predict",
        help="test predictions and the submission from an exported bundle alone",
        description="test predictions and the validated submission from a bundle alone",
    )
    predict.add_argument("--bundle", required=True, help="the folder podium export wrote")
    predict.add_argument(
        "--data", required=True, help="competition folder: test images, sample_submission.csv"
    )
    predict.add_argument("--out", default="submission.csv", help="the submission CSV")
    predict.add_argument(
        "--predictions", help="also write the test predictions here (test.parquet's schema)"
    )
    sub.choices["score"].add_argument(
        "--submission", help="a CSV (default: the config's current submission, made if missing)"
    )
    _add_board_commands(sub)
    return p


def _add_board_commands(sub: argparse._SubParsersAction) -> None:
    """`podium board` and `podium lb add|import`: a competition named by a config, by
    --comp, or (neither) the one under runs/."""

    def where(sp: argparse.ArgumentParser, overrides: bool = False) -> None:
        sp.add_argument("-c", "--config", help="a config of the competition (its paths, configs)")
        sp.add_argument("--comp", help="the competition's name (default paths, configs/NAME/)")
        if overrides:  # not beside lb's own positional argument (argparse cannot split them)
            sp.add_argument("overrides", nargs="*", metavar="key=value", help="with -c: overrides")

    board = sub.add_parser(
        "board",
        help="the experiment board: one HTML page over every run and submission",
        description="one self-contained HTML page: every experiment, ensemble, student and "
        "tune study, CV vs leaderboard, learning curves, freshness",
    )
    where(board, overrides=True)
    board.add_argument("--out", help="the page (default: runs/<comp>/board.html)")
    lb = sub.add_parser("lb", help="record leaderboard scores of submissions (for the board)")
    lb_sub = lb.add_subparsers(dest="lb_command", required=True, metavar="{add,import}")
    add = lb_sub.add_parser("add", help="record one submission's public (and private) score")
    add.add_argument("submission", help="the submission CSV")
    add.add_argument("--public", type=float, required=True)
    add.add_argument("--private", type=float)
    where(add)
    imp = lb_sub.add_parser(
        "import", help="record the scores of a `kaggle competitions submissions -v` CSV"
    )
    imp.add_argument("listing", help="the CSV the Kaggle CLI printed")
    where(imp)


def _run_board_command(args: argparse.Namespace) -> None:
    from podium.board.scope import resolve_scope  # local for import cost

    hint = Path(args.submission).name if getattr(args, "submission", None) else None
    config = Path(args.config) if args.config else None
    scope = resolve_scope(config, getattr(args, "overrides", None), args.comp, hint)
    if args.stage == "board":
        from podium.stages import board

        board.run(scope, Path(args.out) if args.out else None)
        return
    from podium.stages import lb

    if args.lb_command == "add":
        lb.add(scope, Path(args.submission), args.public, args.private)
    else:
        lb.import_listing(scope, Path(args.listing))


def _run(args: argparse.Namespace) -> None:
    if args.stage == "demo-data":
        from podium.stages.demo_data import write_demo  # local for import cost: cv2, sklearn

        write_demo(Path(args.data), task=args.task)
        return
    if args.stage in ("board", "lb"):  # a competition's runs, not one config's stages
        _run_board_command(args)
        return
    if args.stage == "predict":  # no config: the bundle is the whole input
        from podium.stages.predict import run as predict_bundle

        predictions = Path(args.predictions) if args.predictions else None
        predict_bundle(Path(args.bundle), Path(args.data), Path(args.out), predictions)
        return
    from podium import pipeline  # local for import cost: `podium --help` needs no torch
    from podium.units.devices import parse_devices

    request = pipeline.Request(
        config=Path(args.config),
        overrides=args.overrides,
        force=getattr(args, "force", False),
        exp=getattr(args, "exp", None),
        fold=getattr(args, "fold", None),
        seed=getattr(args, "seed", None),
        devices=parse_devices(args.devices) if getattr(args, "devices", None) else None,
    )
    options = {}
    if args.stage == "lr-find":
        options["steps"] = args.steps
    if args.stage == "export":
        options.update(out=args.out and Path(args.out), half=args.half, wheels=args.wheels)
    if args.stage == "tune" and args.mkdir:
        options["mkdir"] = True
    if args.stage == "weights" and args.out:
        options["out"] = Path(args.out)
    if args.stage == "score" and args.submission:
        options["submission"] = Path(args.submission)
    # launch: torchrun's processes train one unit together
    from podium import launch, progress

    tracker = progress.start(args.stage, fold=request.fold, seed=request.seed)
    if launch.launched():
        launch.run(args.stage, request)
        return
    pipeline.run(args.stage, request, **options)
    tracker.finish()


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
