"""The typed configuration (`schema`; the stage sections' models in `tabular`, `ensemble`,
`pseudo`, `tune`; the experiment's kind in `kind`) and how it is read (`loading`): one import
surface for the config itself."""

from podium.config.kind import Kind
from podium.config.loading import (
    apply_overrides,
    deep_merge,
    from_dict,
    load_config,
    load_related,
    parse_override,
    read_yaml,
    save_resolved,
)
from podium.config.schema import (
    TTA_VIEWS_DOC,
    AugmentConfig,
    CompetitionConfig,
    Config,
    DataConfig,
    ExternalSource,
    FoldsConfig,
    InferConfig,
    ModelConfig,
    PathsConfig,
    Section,
    TrainConfig,
    check_view_name,
)
from podium.errors import ConfigError

__all__ = [
    "TTA_VIEWS_DOC",
    "AugmentConfig",
    "CompetitionConfig",
    "Config",
    "ConfigError",
    "DataConfig",
    "ExternalSource",
    "FoldsConfig",
    "InferConfig",
    "Kind",
    "ModelConfig",
    "PathsConfig",
    "Section",
    "TrainConfig",
    "apply_overrides",
    "check_view_name",
    "deep_merge",
    "from_dict",
    "load_config",
    "load_related",
    "parse_override",
    "read_yaml",
    "save_resolved",
]
