"""`podium <stage> -c CONFIG [key=value ...]`: the one entry point. Thin on purpose: parse,
load the config, call the stage; user errors print one clear message and exit 2.

A config with an `ensemble.members` list stands for its members in train / oof / infer, so
`podium train -c configs/digits/ensemble.yaml` trains every member (`--exp NAME` narrows).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")


def _user_errors() -> tuple[type[BaseException], ...]:
    from podium.artifacts import ArtifactError
    from podium.competition import DataError
    from podium.config import ConfigError

    return (ConfigError, DataError, ArtifactError)


def member_configs(config: str, exp: str | None = None) -> list[Path]:
    """The experiment configs a command covers: the file itself, or an ensemble's members."""
    from podium.config import ConfigError, read_yaml

    path = Path(config)
    members = (read_yaml(path).get("ensemble") or {}).get("members")
    if not members:
        return [path]
    paths = [path.parent / (m if isinstance(m, str) else m["config"]) for m in members]
    if exp is not None:
        paths = [p for p in paths if p.stem == exp]
        if not paths:
            raise ConfigError(
                f"{config}: no member named {exp!r}; members: {[Path(str(m)).stem for m in members]}"
            )
    return paths


def _for_each_member(args: argparse.Namespace, fn: Callable) -> None:
    from podium.config import load_config
    from podium.experiment import Experiment

    for path in member_configs(args.config, args.exp):
        cfg = load_config(path, args.overrides)
        fn(cfg, Experiment(cfg))


def cmd_demo_data(args: argparse.Namespace) -> None:
    from podium.stages.demo_data import write_demo

    write_demo(Path(args.data))


def cmd_folds(args: argparse.Namespace) -> None:
    from podium.config import load_config
    from podium.stages import folds

    folds.run(load_config(member_configs(args.config)[0], args.overrides), force=args.force)


def cmd_train(args: argparse.Namespace) -> None:
    from podium.stages import train

    def one(cfg, exp):
        if cfg.tabular is not None:
            from podium.stages import tabular

            tabular.run(exp, force=args.force)
        elif cfg.pseudo is not None:
            from podium.stages import pseudo

            pseudo.train_student(exp, force=args.force, fold=args.fold, seed=args.seed)
        else:
            train.run(exp, force=args.force, fold=args.fold, seed=args.seed)

    _for_each_member(args, one)


def _tabular_predicted(cfg, exp) -> bool:
    """A tabular member predicts its OOF and test rows when it trains: make sure they exist."""
    if cfg.tabular is None:
        return False
    from podium.stages import tabular

    tabular.run(exp, force=False)
    return True


def cmd_oof(args: argparse.Namespace) -> None:
    from podium.stages import oof

    _for_each_member(
        args, lambda cfg, exp: _tabular_predicted(cfg, exp) or oof.run(exp, force=args.force)
    )


def cmd_infer(args: argparse.Namespace) -> None:
    from podium.stages import infer

    _for_each_member(
        args, lambda cfg, exp: _tabular_predicted(cfg, exp) or infer.run(exp, force=args.force)
    )


def cmd_lr_find(args: argparse.Namespace) -> None:
    from podium.config import load_config
    from podium.experiment import Experiment
    from podium.stages import lr_find

    cfg = load_config(member_configs(args.config, args.exp)[0], args.overrides)
    lr_find.run(Experiment(cfg), steps=args.steps)


def cmd_submit(args: argparse.Namespace) -> None:
    from podium.config import load_config
    from podium.stages import submit

    submit.run(load_config(args.config, args.overrides))


def cmd_score(args: argparse.Namespace) -> None:
    from podium.config import load_config
    from podium.stages import score

    score.run(
        load_config(args.config, args.overrides), Path(args.submission) if args.submission else None
    )


def cmd_ensemble(args: argparse.Namespace) -> None:
    from podium.config import load_config
    from podium.stages import ensemble

    ensemble.run(load_config(args.config, args.overrides), force=args.force)


def cmd_pseudo(args: argparse.Namespace) -> None:
    from podium.config import load_config
    from podium.stages import pseudo

    pseudo.run(load_config(args.config, args.overrides), force=args.force)


def cmd_tune(args: argparse.Namespace) -> None:
    from podium.config import load_config
    from podium.stages import tune

    tune.run(load_config(args.config, args.overrides))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="podium", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = p.add_subparsers(dest="stage", required=True, metavar="STAGE")

    def stage(name: str, fn: Callable, help: str, config: bool = True) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, description=help)
        if config:
            sp.add_argument(
                "-c",
                "--config",
                required=True,
                help="YAML config (experiment, ensemble, pseudo, tune)",
            )
            sp.add_argument(
                "overrides",
                nargs="*",
                metavar="key=value",
                help="dotted overrides, e.g. train.epochs=3",
            )
        sp.set_defaults(fn=fn)
        return sp

    sp = stage(
        "demo-data",
        cmd_demo_data,
        "write the embedded digits competition under DATA/digits",
        config=False,
    )
    sp.add_argument("--data", default="data", help="data folder (default: data)")
    stage("folds", cmd_folds, "assign folds: runs/<comp>/folds.csv").add_argument(
        "--force", action="store_true"
    )
    sp = stage("train", cmd_train, "train every fold x seed (or one unit)")
    sp.add_argument("--fold", type=int)
    sp.add_argument("--seed", type=int)
    for name, fn, help in [
        ("oof", cmd_oof, "out-of-fold predictions with TTA and the CV score"),
        ("infer", cmd_infer, "test predictions with TTA, averaged over folds x seeds"),
    ]:
        stage(name, fn, help)
    for sp in (sub.choices["train"], sub.choices["oof"], sub.choices["infer"]):
        sp.add_argument("--force", action="store_true", help="redo finished work")
        sp.add_argument("--exp", help="with an ensemble config: only this member")
    sp = stage("lr-find", cmd_lr_find, "learning-rate range test on fold 0: suggests train.lr")
    sp.add_argument("--steps", type=int, default=100)
    sp.add_argument("--exp", help="with an ensemble config: this member")
    stage("submit", cmd_submit, "write a validated submission CSV")
    sp = stage("score", cmd_score, "score a submission against the competition's solution.csv")
    sp.add_argument("--submission", help="a CSV (default: the newest submission of this config)")
    stage(
        "ensemble", cmd_ensemble, "stack members' OOF with XGBoost, blend, pick by CV"
    ).add_argument("--force", action="store_true")
    stage("pseudo", cmd_pseudo, "pseudo-label with a teacher and train the student").add_argument(
        "--force", action="store_true"
    )
    stage("tune", cmd_tune, "an Optuna study over config keys")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.fn(args)
    except _user_errors() as e:
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
