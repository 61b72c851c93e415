"""Training augmentations: albumentations pipelines declared in the config as a list of
`{name: ClassName, **kwargs}`. Built with `strict=True` because albumentations 2.x otherwise
only warns about unknown or renamed arguments, and a typo would silently train without it.
"""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network at import

import albumentations as A  # noqa: E402
import numpy as np  # noqa: E402

from podium.config import AugmentConfig, ConfigError  # noqa: E402


def build_train_transform(
    augs: list[AugmentConfig], image_size: tuple[int, int], n_channels: int | None = None
) -> A.Compose | None:
    """Compose the configured transforms (the dataset resizes any output that is not
    `image_size`, so pipelines without a crop stay valid). With `n_channels`, each transform
    is also tried once (p=1) on a blank image of that many channels: colour transforms refuse
    anything but 1 or 3 channels (see `check_channels`), which is better said before training."""
    if n_channels is not None:
        check_channels(augs, image_size, n_channels)
    steps = []
    for i, aug in enumerate(augs):
        params = {k: v for k, v in aug.model_dump().items() if k != "name"}
        cls = getattr(A, aug.name, None)
        if cls is None or not isinstance(cls, type):
            import difflib

            close = difflib.get_close_matches(aug.name, [n for n in dir(A) if n[0].isupper()], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(
                f"data.train_augs[{i}]: unknown albumentations transform {aug.name!r}{hint}"
            )
        try:
            steps.append(cls(**params))
        except Exception as e:  # pydantic errors of albumentations' own schema
            raise ConfigError(f"data.train_augs[{i}] ({aug.name}): {e}") from None
    if not steps:
        return None
    try:
        return A.Compose(steps, strict=True, seed=0)
    except Exception as e:
        raise ConfigError(f"data.train_augs: {e}") from None


def check_channels(augs: list[AugmentConfig], image_size: tuple[int, int], n_channels: int) -> None:
    """A ConfigError naming the first transform that fails on (h, w, n_channels) uint8 images.

    albumentations 2.0: geometric transforms (flips, Affine, crops, distortions, dropout) and
    most intensity ones (brightness/contrast, gamma, noise, blurs) take any channel count;
    CLAHE, Equalize, HueSaturationValue, ColorJitter, ToGray and RGBShift (default ranges)
    take 1 or 3 channels only; RandomFog and ISONoise take 3 only; ChannelDropout needs 2+."""
    image = np.zeros((*image_size, n_channels), np.uint8)
    for i, aug in enumerate(augs):
        params = {k: v for k, v in aug.model_dump().items() if k not in ("name", "p")}
        cls = getattr(A, aug.name, None)
        if cls is None or not isinstance(cls, type):
            continue  # build_train_transform names it
        try:
            step = A.Compose([cls(**params, p=1.0)], strict=True, seed=0)
        except Exception:
            continue  # a bad argument: build_train_transform names it
        try:
            out = step(image=image)["image"]
        except Exception as e:
            detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(
                f"data.train_augs[{i}] ({aug.name}): does not work on {n_channels}-channel "
                f"images (data.channels): {detail}"
            ) from None
        if out.ndim != 3 or out.shape[2] != n_channels:
            raise ConfigError(
                f"data.train_augs[{i}] ({aug.name}): turns {n_channels}-channel images into "
                f"shape {tuple(out.shape)}"
            )
