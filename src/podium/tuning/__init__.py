"""Optuna studies around podium's stages: the YAML search space turned into trial
suggestions and config overlays (`space`), the storage / sampler / pruner factories
(`study`) and the objectives that train a trial or score a meta-model (`objective`). The
`tune:` section's schema is the config's (`podium.config.tune`); the story of a run is told
by `podium.stages.tune`."""
