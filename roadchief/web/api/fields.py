"""Schema fields shared by the API modules."""

from __future__ import annotations

from apiflask import fields
from marshmallow import ValidationError


class String(fields.String):
    """Text that refuses the NUL character: PostgreSQL text cannot hold or compare it, so it
    would otherwise reach the database as a 500 instead of a 422 naming the field."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is not None and "\x00" in text:
            raise ValidationError("不能含有空字符（\\x00）")
        return text
