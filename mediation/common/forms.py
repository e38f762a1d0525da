"""HTML forms read through marshmallow schemas: the submitted form as the schema's input, and the
schema's errors as "字段：消息" lines for flash messages or a form's error list.

Every area's form views use these two (the case page's actions, the court's ruling, the routing admin
page, the working-day calendar, the calendar's command line); each area keeps the Chinese names of
its own fields next to its schemas and passes them as ``labels``.
"""

from __future__ import annotations

from collections.abc import Mapping

from marshmallow import Schema, fields


def form_payload(form, schema: Schema) -> dict:
    """The schema's fields from a submitted form: lists from repeated fields, checkboxes as booleans."""
    data: dict = {}
    for name, field in schema.fields.items():
        if isinstance(field, fields.List):
            items = [v for v in form.getlist(name) if v.strip()]
            if items:
                data[name] = items
        elif isinstance(field, fields.Boolean):
            data[name] = name in form  # an unticked checkbox is not sent at all
        elif name in form:
            data[name] = form.get(name)
    return data


def error_lines(messages, labels: Mapping[str, str], prefix: str = "") -> list[str]:
    """marshmallow's nested messages as "字段：消息" lines, each field named by ``labels`` (its key
    when it has no label; schema-wide errors without a name)."""
    lines: list[str] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            label = labels.get(str(key), "" if key == "_schema" else str(key))
            lines += error_lines(value, labels, label or prefix)
    elif isinstance(messages, list | tuple):
        for value in messages:
            lines += error_lines(value, labels, prefix)
    else:
        lines.append(f"{prefix}：{messages}" if prefix else str(messages))
    return lines
