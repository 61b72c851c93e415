"""The segmentation task (`competition.task: segmentation`): per-pixel masks as targets,
read through `podium.segmentation` from a run-length column of train.csv (`target_column`,
with the convention `competition.rle`) or from mask image files (`competition.train_masks`,
`competition.mask_layout`); one output channel per mask class.

Arrays: `y` is (N, C, H, W) bool at the images' own size, or, where a table's images have
several sizes, an (N,) object array of (C, H_i, W_i) masks (`segmentation.masks.ragged`:
the units train on them resized to the model's size); predictions are (N, C, h, w) probabilities at the model's size. The loss is
a sum of segmentation_models_pytorch's losses (`train.loss: bce+dice`); the metric is mean
Dice per image (two empty masks score 1); the decision is the probability threshold and the
minimum component area (`decisions.mask_area`), fitted CV-honestly on OOF maps; the
submission codec writes one run-length cell per (image, class) (`segmentation_codec`).

Ensembles of segmentation members are `podium.mask_ensemble`'s (blends of the members' maps,
an empty-mask gate); pseudo-labels are `segmentation_pseudo`'s (whole images ranked by mean
pixel confidence). A mask unit trains in the shared core (`engine.trainer.fit`) like any
other: its samples are masks resized with their images (`training_targets` keeps the masks;
`data.mask_dataset`), it is validated on Dice at 0.5 of the maps (`monitor`) against the masks
at the model's size (`validation_targets`), so SWA, snapshots, progressive resizing, early
stopping, AMP, EMA, channels_last, compile, DDP, the device pool and lr-find are the core's.
What segmentation does not support yet (distillation, tabular members, mixup, ...) is refused
by `check_config`, naming the key, before anything runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import torch

from podium.config import CompetitionConfig, Config, TrainConfig
from podium.config.training import MASK_LOSSES
from podium.errors import ConfigError
from podium.metrics import Metric
from podium.metrics.segmentation import DICE_AT_HALF, SEGMENTATION
from podium.segmentation.mask_files import MaskFiles, image_size
from podium.segmentation.mask_table import read_mask_table
from podium.segmentation.masks import at_size, join_classes, ragged, stack
from podium.segmentation.rle import RleConvention, preset
from podium.tasks.base import Task, TaskDefaults, resolve_metric
from podium.tasks.decisions.mask_area import MaskThreshold
from podium.tasks.segmentation_codec import MaskFolds, RleCodec, pixel_log_loss
from podium.tasks.segmentation_pseudo import MaskPseudo
from podium.tasks.segmentation_rows import read_long, write_long

# train settings a mask unit cannot honour yet: key -> is it set? (mixup/cutmix would have
# to mix the masks alike; the others read a class per row or a timm backbone)
_UNSUPPORTED_TRAIN = {
    "train.mixup_alpha": lambda t: t.mixup_alpha > 0,
    "train.cutmix_alpha": lambda t: t.cutmix_alpha > 0,
    "train.unfreeze": lambda t: t.unfreeze is not None,
    "train.label_smoothing": lambda t: t.label_smoothing > 0,
    "train.class_weights": lambda t: t.class_weights != "none",
}


D4_VIEWS = ("identity", "hflip", "vflip", "transpose", "rot90", "rot180", "rot270")


def convention_of(cfg: CompetitionConfig) -> RleConvention:
    """`competition.rle` as a convention: a preset name or {order, start, empty}."""
    spec = cfg.rle
    if isinstance(spec, str):
        try:
            return preset(spec)
        except ConfigError as e:
            raise ConfigError(f"competition.rle: {e}") from None
    return RleConvention(start=spec.start, order=spec.order, empty=spec.empty)


def data_root(cfg: CompetitionConfig, table_path: Path) -> Path:
    """The competition's folder, from the path of its train table (root / train_csv); a
    train table given by its full path (a bundle's targets.csv) gives its own folder, until
    the competition binds its data folder (`bind_data`)."""
    depth = len(Path(cfg.train_csv).parts) - 1
    if Path(cfg.train_csv).is_absolute() or depth >= len(table_path.parents):
        return table_path.parent
    return table_path.parents[depth]


class Segmentation(Task):
    name = "segmentation"
    metrics = SEGMENTATION
    defaults = TaskDefaults(metric="dice", loss="bce+dice")
    pixelwise: ClassVar[bool] = True

    def __init__(
        self, cfg: CompetitionConfig, source: Path, metric: Metric, classes: tuple[str, ...]
    ) -> None:
        super().__init__(cfg, source, metric)
        self.classes = classes
        self.root = data_root(cfg, source)
        self.convention = convention_of(cfg)
        self.decision = MaskThreshold(metric)
        self.pseudo = MaskPseudo(self.decision)
        self.folds = MaskFolds()
        self.submission = RleCodec(
            self.convention, self.test_shape, cfg.id_column, tuple(self.rle_columns())
        )
        self._shapes: dict[str, dict[str, tuple[int, int]]] = {}

    # ---- tables ------------------------------------------------------------------------------
    @classmethod
    def read_layout(
        cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path, role: str, root: Path
    ) -> pd.DataFrame:
        """Long run-length rows (`competition.rle_rows`) as one row per image."""
        if cfg.rle_rows is None:
            return table
        return read_long(cfg, table, path, role, convention_of(cfg), root)

    def bind_data(self, root: Path) -> None:
        self.root = root  # image sizes and the sample submission are read from here

    def write_layout(self, sub: pd.DataFrame) -> pd.DataFrame:
        return sub if self.cfg.rle_rows is None else write_long(self.cfg, self.root, sub)

    @classmethod
    def clean_table(cls, cfg: CompetitionConfig, table: pd.DataFrame, path: Path) -> pd.DataFrame:
        column = cfg.target_column
        if column in table.columns:
            cells = table[column]
            table = table.assign(**{column: cells.where(cells.notna(), "").astype(str).str.strip()})
        return table

    @classmethod
    def from_table(
        cls,
        cfg: CompetitionConfig,
        train: pd.DataFrame,
        path: Path,
        training: TrainConfig | None = None,
    ) -> Segmentation:
        metric = resolve_metric(cfg, cls.name, cls.metrics, cls.defaults)
        if metric.needs != "decisions":
            raise ConfigError(
                f"competition.metric: {metric.name!r} does not score masks; a segmentation task "
                f"scores thresholded masks ({', '.join(SEGMENTATION)})"
            )
        classes = tuple(cfg.classes) if cfg.classes else (cfg.target_column,)
        if not cfg.train_masks and cfg.rle_rows is None and len(classes) != 1:
            raise ConfigError(
                "competition.classes: a run-length column holds one class; several classes "
                "need mask files (competition.train_masks with mask_layout index or per_class)"
            )
        return cls(cfg, path, metric, classes)

    def check_config(self, cfg: Config) -> None:
        refused = {
            # a pseudo mask's loss is not weighted per image (smp's losses average a batch)
            "pseudo.weight": cfg.pseudo is not None and cfg.pseudo.weight != 1,
            "pseudo.confidence_weighting": cfg.pseudo is not None
            and cfg.pseudo.confidence_weighting,
            "pseudo.soft": cfg.pseudo is not None
            and cfg.pseudo.soft
            and "lovasz" in (cfg.train.loss or ""),
            "tabular": cfg.tabular is not None,
            "train.distill": cfg.train.distill is not None,
            "train.sampler": cfg.train.sampler != "none",
            "model.arch": cfg.kind.trains_units and cfg.model.arch is None,  # not an ensemble
            "competition.metadata": cfg.competition.metadata is not None,
            "data.external": bool(cfg.data.external),
            "data.resize": cfg.data.resize != "squash",  # pad / crop would move the mask
            "infer.tta": any(v not in D4_VIEWS for v in cfg.infer.tta),
            **{key: bool(is_set(cfg.train)) for key, is_set in _UNSUPPORTED_TRAIN.items()},
        }
        for key, bad in refused.items():
            if bad:
                why = {
                    "model.arch": "a segmentation model is a decoder over a timm encoder: set "
                    "model.arch (unet, unetplusplus, fpn, deeplabv3plus, ...)",
                    "infer.tta": f"a mask's views must be undone: use {', '.join(D4_VIEWS)}",
                    "pseudo.soft": "the Lovasz loss needs 0/1 masks: pseudo.soft: false",
                }.get(key, "segmentation does not support it yet")
                raise ConfigError(f"{cfg.source}: {key}: {why} (competition.task: segmentation)")
        if self.submission_columns is not None:
            found = self.submission_columns()
            if sorted(found) != sorted(self.rle_columns()):
                raise ConfigError(
                    f"{cfg.source}: competition: sample_submission's columns {found} are not "
                    f"the run-length column of each class {self.rle_columns()} (one class: "
                    "target_column; several: one column named after each class)"
                )
        loss = cfg.train.loss
        if loss is not None and set(loss.split("+")) - set(MASK_LOSSES):
            raise ConfigError(
                f"{cfg.source}: train.loss: {loss!r} is not a mask loss; a sum of "
                f"{', '.join(MASK_LOSSES)} (e.g. bce+dice)"
            )

    # ---- image sizes -------------------------------------------------------------------------
    def shapes(self, split: str) -> dict[str, tuple[int, int]]:
        """Each image's (height, width) of the split, read from its file (once)."""
        if split not in self._shapes:
            cfg = self.cfg
            template = cfg.train_images if split == "train" else cfg.test_images
            name = cfg.train_csv if split == "train" else (cfg.test_csv or cfg.sample_submission)
            path = self.root / name
            raw = pd.read_csv(path, dtype=str, keep_default_na=False)
            role = "train" if split == "train" else None if cfg.test_csv else "sample"
            table = raw if role is None else self.read_layout(cfg, raw, path, role, self.root)
            out = {}
            for row in table.to_dict("records"):
                image_id = row[cfg.id_column]
                fields = {str(k): v for k, v in row.items()}
                path = self.root / template.format(**{**fields, "id": image_id})
                out[image_id] = image_size(path, image_id)
            self._shapes[split] = out
        return self._shapes[split]

    def test_shape(self, image_id: str) -> tuple[int, int]:
        return self.shapes("test")[image_id]

    # ---- targets -----------------------------------------------------------------------------
    def rle_columns(self) -> list[str]:
        """The run-length column of each class in solution.csv and the submission:
        `target_column` for one class, else the class names (one column each)."""
        return [self.cfg.target_column] if len(self.classes) == 1 else list(self.classes)

    def encode(self, table: pd.DataFrame, path: Path) -> np.ndarray:
        """(N, C, H, W) bool masks of the table's images: train.csv's from the run-length
        column or the mask files; another table (solution.csv) is the test images' and holds
        one run-length column per class (`rle_columns`)."""
        cfg = self.cfg
        ids = [str(i) for i in table[cfg.id_column]]
        split = "train" if path.name == Path(cfg.train_csv).name else "test"
        shapes = self.shapes(split)
        several = len({shapes.get(i) for i in ids}) > 1  # ragged masks, each at its size
        gather = ragged if several else (lambda source, ids: stack(source, ids).masks)
        if split == "train" and cfg.train_masks:
            files = MaskFiles(
                cfg.train_masks, cfg.mask_layout, self.classes, self.root, shapes, str(path)
            )
            files.check_exist(ids)
            return gather(files, ids)
        planes = [
            gather(
                read_mask_table(
                    table,
                    classes=[name],
                    shapes=shapes,
                    convention=self.convention,
                    id_column=cfg.id_column,
                    rle_column=column,
                    source=str(path),
                ),
                ids,
            )
            for name, column in zip(self.classes, self.rle_columns(), strict=True)
        ]
        return join_classes(planes)

    def target_frame(self, table: pd.DataFrame) -> pd.DataFrame:
        present = [c for c in self.rle_columns() if c in table.columns]
        frame: pd.DataFrame = table[present or [self.cfg.id_column]]
        return frame  # mask files: the ids name them

    @property
    def num_outputs(self) -> int:
        return len(self.classes)

    @property
    def columns(self) -> list[str]:
        return list(self.classes)

    def training_targets(self, y: np.ndarray) -> np.ndarray:
        """The masks as they are (bool, or ragged): the loader resizes each with its image
        and makes it a float target (`data.mask_dataset`), so no float copy of them all."""
        return y

    def validation_targets(self, y: np.ndarray, image_size: tuple[int, int]) -> np.ndarray:
        return at_size(y, image_size)  # uint8 0/1 at the model's size, as the maps are

    # ---- model outputs -----------------------------------------------------------------------
    def build_loss(self, train: TrainConfig, targets: np.ndarray) -> torch.nn.Module:
        mode = "binary" if self.num_outputs == 1 else "multilabel"
        return MaskLoss(train.loss or self.defaults.loss, train.focal_gamma, mode)

    def activate(self, logits: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-np.asarray(logits, np.float32))))

    def merge(self, logits: np.ndarray, how: str) -> np.ndarray:
        """The mean over views / folds / seeds of the probabilities (`prob`), or of the
        logits (`logit`), of (M, N, C, H, W) maps."""
        if how == "logit":
            return self.activate(np.mean(logits, axis=0))
        return np.asarray(np.mean(self.activate(logits), axis=0))

    @property
    def valid_loss(self) -> Metric:
        return Metric("pixel_log_loss", pixel_log_loss, False, "probabilities")

    @property
    def monitor(self) -> Metric:
        return DICE_AT_HALF  # the threshold and minimum area are fitted after, on OOF maps


class MaskLoss(torch.nn.Module):
    """A sum of segmentation_models_pytorch's losses over (B, C, H, W) logits and 0/1
    targets, e.g. `bce+dice` (mode binary for one class, multilabel for several)."""

    def __init__(self, spec: str, focal_gamma: float = 2.0, mode: str = "binary") -> None:
        super().__init__()
        import segmentation_models_pytorch as smp  # local: the losses are smp's

        build = {
            "bce": lambda: smp.losses.SoftBCEWithLogitsLoss(),
            "dice": lambda: smp.losses.DiceLoss(mode, from_logits=True),
            "jaccard": lambda: smp.losses.JaccardLoss(mode, from_logits=True),
            "lovasz": lambda: smp.losses.LovaszLoss(mode, per_image=True, from_logits=True),
            "focal": lambda: smp.losses.FocalLoss(mode, gamma=focal_gamma),
        }
        self.names = spec.split("+")
        self.terms = torch.nn.ModuleList([build[name]() for name in self.names])

    def forward(
        self, logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The step's criterion(logits, targets, weights); the weights are all 1 (a pseudo
        mask's `pseudo.weight` is refused: smp's losses average a batch)."""
        logits = logits.float()
        total = logits.new_zeros(())
        for term in self.terms:
            total = total + term(logits, targets)
        return total
