"""Inputs that arrive as JSON or as a plain HTML form post (no JavaScript needed).

Every public POST takes both. Powertools hands a form body (application/x-www-form-urlencoded)
to the model as {name: [values]}; `FormFriendly` unpacks it so one model serves both.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, model_validator


def _takes_many(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin in (list, set, tuple):
        return True
    if origin is Annotated:
        return _takes_many(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_takes_many(arg) for arg in get_args(annotation))
    return False


class FormFriendly(BaseModel):
    """An input that also arrives as a form post (application/x-www-form-urlencoded).

    Powertools hands a form body over as {name: [values]}: a field that takes one value
    gets the single value, and an empty box counts as not sent.
    """

    @model_validator(mode="before")
    @classmethod
    def _from_form(cls, data: Any) -> Any:
        if (
            not isinstance(data, dict)
            or not data
            or not all(isinstance(v, list) for v in data.values())
        ):
            return data
        fields = cls.model_fields
        unpacked: dict[str, Any] = {}
        for name, value in data.items():
            field = fields.get(name)
            if field is not None and not _takes_many(field.annotation) and len(value) == 1:
                value = value[0]
            if value == "" or value == [""]:
                continue
            unpacked[name] = value
        return unpacked
