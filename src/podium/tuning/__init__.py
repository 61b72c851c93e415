"""Optuna studies around podium's stages: the `tune:` section's schema (`schema`), the YAML
search space turned into trial suggestions and config overlays (`space`), the storage /
sampler / pruner factories (`study`) and the objectives that train a trial or score a
meta-model (`objective`). The story of a run is told by `podium.stages.tune`."""
