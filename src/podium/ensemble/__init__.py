"""The ensemble's parts: the `ensemble:` section (`schema`), the members' prediction files
(`members`), level-2 features (`features`), blends (`blend`), the XGBoost meta-model
(`stack`) and the comparison report (`report`). The story of a run is told by
`podium.stages.ensemble`."""
