"""The bases of every config section: `Section` (unknown keys are errors) and `StageSection`,
the base of a stage's own section (`tabular:`, `ensemble:`, `pseudo:`, `tune:`), which also
says how its errors name its keys and keeps the mapping as the user wrote it; and the check
of a name that becomes a folder (`check_folder_name`)."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict, ModelWrapValidatorHandler, PrivateAttr, model_validator


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, assignments are validated."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class SubSection(BaseModel):
    """A mapping inside a stage section (`ensemble.meta`, `tune.sampler`): unknown keys are
    errors; no assignment validation (a stage section is read, never changed)."""

    model_config = ConfigDict(extra="forbid")


class StageSection(SubSection):
    """Base of a stage's own section, validated with the config (`podium.config.loading`
    renders its errors as `invalid <name> section`, naming the file and the key).

    Subclasses may override `known_names` (the names an unknown key is compared with for a
    did-you-mean; default: the model's fields), `location` (how a pydantic error location
    reads) and `suggestion` (how a suggested name reads).

    The section is kept as written (`as_written`): the resolved config saved beside a run,
    a tune study's base fingerprint and a student's training hash hold the section in that
    form, as they did when sections were plain mappings, so finished runs stay fresh."""

    _written: dict[str, Any] | None = PrivateAttr(None)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_as_written(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        section = handler(data)
        if isinstance(data, dict) and isinstance(section, StageSection):
            section._written = copy.deepcopy(data)
        return section

    def as_written(self) -> dict[str, Any]:
        """The mapping the section was validated from (its fields set, for one built in code)."""
        if self._written is not None:
            return copy.deepcopy(self._written)
        return self.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def known_names(cls) -> list[str]:
        return list(cls.model_fields)

    @classmethod
    def location(cls, name: str, loc: tuple[Any, ...]) -> str:
        """A pydantic error location as the user reads it: dotted under the section's name."""
        return ".".join([name, *(str(p) for p in loc)])

    @classmethod
    def suggestion(cls, name: str, key: str) -> str:
        """A suggested key for an unknown one, as the message shows it."""
        return repr(key)
