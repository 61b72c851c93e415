"""Training augmentations: albumentations pipelines declared in the config as a list of
`{name: ClassName, **kwargs}`. Built with `strict=True` because albumentations 2.x otherwise
only warns about unknown or renamed arguments, and a typo would silently train without it.
"""

from __future__ import annotations

import os

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network at import

import albumentations as A  # noqa: E402

from podium.config import AugmentConfig, ConfigError  # noqa: E402


def build_train_transform(
    augs: list[AugmentConfig], image_size: tuple[int, int]
) -> A.Compose | None:
    """Compose the configured transforms (the dataset resizes any output that is not
    `image_size`, so pipelines without a crop stay valid)."""
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
