"""`podium weights -c CONFIG [--out DIR]`: the pretrained weight files a config needs (its own
model, an ensemble's members', a student's teachers') fetched through timm's hub path into the
Hugging Face cache (HF_HOME), or copied into DIR to carry to an offline machine (or upload as
a Kaggle dataset) and name with `model.weights=DIR/<model>.<ext>`."""

from __future__ import annotations

from pathlib import Path

from podium.config import Config, ModelConfig
from podium.models import fetch_weights


def run(configs: list[Config], out: Path | None = None) -> dict[str, Path]:
    """{model name: file} for every config with `model.pretrained: true` and no local file."""
    wanted: dict[str, ModelConfig] = {}
    for cfg in configs:
        if cfg.kind.trains_units and cfg.model.pretrained and not cfg.model.weights:
            wanted.setdefault(cfg.model.name, cfg.model)
    if not wanted:
        print("weights: no config here asks for pretrained weights (model.pretrained: true)")
        return {}
    files: dict[str, Path] = {}
    for name, model in wanted.items():
        files[name] = path = fetch_weights(model, out)
        size = path.stat().st_size / 1e6
        use = f"; use with model.weights={path}" if out is not None else " (in the cache)"
        print(f"weights {name}: {path} ({size:.1f} MB){use}")
    return files
