"""Render finished spans as an indented tree of names, for readable comparisons."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan


def span_tree(spans: Sequence[ReadableSpan], *, attributes: Sequence[str] = ()) -> list[str]:
    by_id = {span.context.span_id: span for span in spans}
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None and span.parent.span_id in by_id else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: (s.start_time or 0, s.name)):
            extra = "".join(f" {a}={span.attributes.get(a)}" for a in attributes if a in (span.attributes or {}))
            lines.append("  " * depth + span.name + extra)
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return lines
