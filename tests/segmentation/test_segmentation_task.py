"""The segmentation task's pieces: image and mask augmented together, each TTA view undone,
the smp loss sums, the folds' stratification key, the run-length codec both ways, and the
post-processing decision (threshold + minimum area) fitted CV-honestly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from podium.config import AugmentConfig
from podium.data.augment import build_train_transform
from podium.data.mask_dataset import MaskDataset
from podium.data.tta import get_view, undo_view
from podium.errors import ArtifactError, DataError
from podium.mask_data import resize_masks
from podium.mask_store import read_maps, to_size, write_maps
from podium.metrics.segmentation import SEGMENTATION
from podium.segmentation.rle import COLUMN_MAJOR, ROW_MAJOR, decode, encode
from podium.tasks.decisions.mask_area import MaskThreshold, remove_small
from podium.tasks.segmentation import MaskLoss
from podium.tasks.segmentation_codec import MaskFolds, RleCodec


def test_geometric_augmentations_move_the_mask_intensity_ones_do_not():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (1, 16, 16, 3), dtype=np.uint8)
    mask = np.zeros((1, 1, 16, 16), np.uint8)
    mask[0, 0, 2:6, 1:4] = 1
    image[0, 2:6, 1:4] = 255  # the mask's pixels are white
    augs = [
        AugmentConfig(name="HorizontalFlip", p=1.0),
        AugmentConfig(name="RandomBrightnessContrast", p=1.0),
    ]
    transform = build_train_transform(augs, (16, 16))
    x, y, w = MaskDataset(image, mask, transform, (32, 32))[(0, 7)]
    assert float(w) == 1.0
    assert x.shape == (32, 32, 3) and y.shape == (1, 32, 32)
    assert set(np.unique(y.numpy())) == {0.0, 1.0}  # resized nearest: still 0/1
    flipped = resize_masks(mask[:, :, :, ::-1], (32, 32))[0, 0]
    assert np.array_equal(y[0].numpy(), flipped)


@pytest.mark.parametrize("view", ["identity", "hflip", "vflip", "transpose", "rot90", "rot270"])
def test_every_fixed_view_is_undone(view):
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).reshape(2, 3, 5, 5)
    assert torch.equal(undo_view(view)(get_view(view)(x)), x)


def test_a_scale_view_cannot_be_undone():
    with pytest.raises(ValueError, match="cannot be undone"):
        undo_view("scale1.1")


def test_loss_is_the_sum_of_smp_losses():
    logits = torch.randn(2, 1, 8, 8)
    target = (torch.rand(2, 1, 8, 8) > 0.5).float()
    both = MaskLoss("bce+dice")(logits, target)
    bce, dice = MaskLoss("bce")(logits, target), MaskLoss("dice")(logits, target)
    assert both.item() == pytest.approx(bce.item() + dice.item(), rel=1e-5)
    assert MaskLoss("lovasz+focal+jaccard")(logits, target).item() > 0


def test_folds_key_separates_empty_masks_and_area_bins():
    y = np.zeros((8, 1, 4, 4), bool)
    for i, area in enumerate([0, 0, 1, 2, 5, 6, 12, 16]):
        y[i, 0].flat[:area] = True
    key = MaskFolds().stratify_key(y)
    assert key[:2].tolist() == [0, 0] and (key[2:] >= 1).all()
    assert key[2] < key[-1]  # small and large masks in different bins


def test_codec_writes_empty_cells_and_reads_back():
    masks = np.zeros((2, 1, 4, 6), bool)
    masks[1, 0, 1:3, 2:5] = True
    for convention in (COLUMN_MAJOR, ROW_MAJOR):
        codec = RleCodec(convention, lambda _: (4, 6), id_column="ImageId")
        values = codec.values(list(masks), ["EncodedPixels"])["EncodedPixels"]
        assert values[0] == "" and values[1] == encode(masks[1, 0], convention)
        sub = pd.DataFrame({"ImageId": ["a", "b"], "EncodedPixels": values})
        assert np.array_equal(codec.predictions(sub, ["EncodedPixels"]), masks)
    codec = RleCodec(COLUMN_MAJOR, lambda _: (4, 6))
    with pytest.raises(DataError, match="line 3, column rle"):
        codec.check_column(pd.Series(["1 2", "5 1 3 1"]), "rle", "sub.csv")  # unsorted runs
    assert decode("1 3", (4, 6)).sum() == 3


def test_decision_thresholds_and_removes_specks():
    prob = np.zeros((1, 1, 20, 20), np.float32)
    prob[0, 0, 2:10, 2:10] = 0.9  # the object
    prob[0, 0, 15, 15] = 0.9  # a one-pixel speck
    decided = MaskThreshold(SEGMENTATION["dice"]).apply(prob, np.array([0.5, 4.0]))
    assert decided.sum() == 64 and not decided[0, 0, 15, 15]
    assert remove_small(np.ones((3, 3), bool), 10).sum() == 0  # only specks: empty


def test_decision_fit_cv_is_honest():
    rng = np.random.default_rng(1)
    y = np.zeros((12, 1, 16, 16), bool)
    y[::2, 0, 4:12, 4:12] = True  # half the images are empty
    prob = np.clip(y * 0.7 + rng.random(y.shape) * 0.45, 0, 1).astype(np.float32)
    fold = np.arange(12) % 3
    decision = MaskThreshold(SEGMENTATION["dice"])
    fit = decision.fit_cv(y, prob, fold)
    for k in range(3):
        assert fit.summary.fold_params[k] == decision.fit(y[fold != k], prob[fold != k]).tolist()
    assert 0 <= fit.summary.cv_score <= fit.summary.fit_score + 1e-9 <= 1 + 1e-9
    # the stored per-fold parameters decide the OOF rows again as the CV did (no refit)
    assert np.array_equal(decision.apply_folds(prob, fold, fit.summary), fit.decided_oof)
    # the grid is the surface the fit maximises: its maximum is the in-sample score
    surface = decision.grid(y, prob)
    assert surface.dice.shape == (len(surface.thresholds), len(surface.min_areas), 12, 1)
    t, area = fit.summary.params
    best = surface.mean()[list(surface.thresholds).index(t), list(surface.min_areas).index(area)]
    assert best == pytest.approx(surface.mean().max()) == pytest.approx(fit.summary.fit_score)
    assert surface.mean(fold == 0).shape == surface.mean().shape


@pytest.mark.parametrize("metric", ["dice", "iou", "global_dice", "global_iou"])
def test_the_post_processing_is_fitted_on_the_competitions_metric(metric):
    """The grid's surface is the metric itself at every point (checked against the metric
    scoring the applied masks), so a competition scored on IoU or pooled Dice gets the
    threshold and minimum area that are best for its own metric."""
    rng = np.random.default_rng(7)
    y = np.zeros((10, 2, 16, 16), bool)
    y[::2, 0, 3:11, 3:11] = True
    y[1::3, 1, 8:14, 2:6] = True
    prob = np.clip(y * 0.55 + rng.random(y.shape) * 0.5, 0, 1).astype(np.float32)
    decision = MaskThreshold(SEGMENTATION[metric])
    grid = decision.grid(y, prob)
    for t in (0, 6, 12):
        for a in (0, 3, 6):
            decided = decision.apply(prob, np.array([grid.thresholds[t], grid.min_areas[a]]))
            assert grid.mean()[t, a] == pytest.approx(SEGMENTATION[metric].fn(y, decided))
    fitted = decision.fit_cv(y, prob, np.arange(10) % 2).summary
    assert fitted.fit_score == pytest.approx(grid.mean().max())
    assert decision.details()["fitted_on"] == metric


def test_a_plugin_mask_metric_is_fitted_on_mean_dice_and_the_report_says_so():
    from podium.metrics import Metric

    def dice_squared(y, pred):
        return SEGMENTATION["dice"].fn(y, pred) ** 2

    decision = MaskThreshold(Metric("dice_squared", dice_squared, True, "decisions"))
    y = np.zeros((4, 1, 8, 8), bool)
    y[:2, 0, 2:6, 2:6] = True
    summary = decision.fit_cv(y, y * 0.9 + 0.05, np.arange(4) % 2).summary
    assert decision.details()["fitted_on"] == "dice"
    assert "chosen on mean dice); dice_squared CV" in decision.report(summary)[0]


def test_store_is_float16_and_reads_back_in_the_asked_order(tmp_path):
    maps = np.random.default_rng(0).random((3, 2, 8, 8)).astype(np.float32)
    write_maps(tmp_path / "m.npy", ["a", "b", "c"], maps, np.array([0, 1, 0]))
    assert np.load(tmp_path / "m.npy").dtype == np.float16
    back = read_maps(tmp_path / "m.npy", ["c", "a"])
    assert np.allclose(back, maps[[2, 0]], atol=1e-3)
    assert to_size(back[0], (16, 12)).shape == (2, 16, 12)
    assert np.allclose(read_maps(tmp_path / "m.npy", ["c", "a"], np.array([0, 0])), back)
    with pytest.raises(ArtifactError, match=r"1 id\(s\) predicted in another fold.*'a'"):
        read_maps(tmp_path / "m.npy", ["c", "a"], np.array([0, 1]))  # folds.csv redone since


def test_several_mask_classes_use_smp_multilabel_mode():
    logits = torch.randn(2, 3, 8, 8)
    target = (torch.rand(2, 3, 8, 8) > 0.5).float()
    loss = MaskLoss("bce+dice+jaccard+lovasz+focal", mode="multilabel")(logits, target)
    assert torch.isfinite(loss) and loss.item() > 0


def test_encoder_weights_from_a_local_file_and_unknown_names(tmp_path):
    import timm
    from safetensors.torch import save_file

    from podium.config.training import ModelConfig
    from podium.errors import ConfigError
    from podium.models import create_segmentation_model

    source = timm.create_model("test_convnext", pretrained=False)
    torch.nn.init.constant_(source.stem[0].weight, 0.125)
    save_file(source.state_dict(), tmp_path / "enc.safetensors")
    cfg = ModelConfig(name="test_convnext", arch="unet", weights=str(tmp_path / "enc.safetensors"))
    model = create_segmentation_model(cfg, 2)
    stem = next(p for n, p in model.encoder.named_parameters() if "stem" in n)
    assert torch.all(stem == 0.125)
    with pytest.raises(ConfigError, match="did you mean 'unet'"):
        create_segmentation_model(ModelConfig(name="test_convnext", arch="unett"), 1)
    with pytest.raises(ConfigError, match="unknown timm encoder"):
        create_segmentation_model(ModelConfig(name="no_such_net", arch="fpn"), 1)


@pytest.mark.parametrize(
    "arch", ["unet", "unetplusplus", "fpn", "deeplabv3plus", "segformer", "upernet"]
)
def test_every_named_decoder_builds_over_a_timm_encoder(arch):
    from podium.config.training import ModelConfig
    from podium.models import create_segmentation_model

    model = create_segmentation_model(ModelConfig(name="test_convnext", arch=arch), 2).eval()
    with torch.no_grad():
        assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 2, 64, 64)
