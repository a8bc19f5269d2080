"""Render finished spans as an indented tree of names, for readable comparisons."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan


def span_tree(spans: Sequence[ReadableSpan], *, attributes: Sequence[str] = (), by_name: bool = False) -> list[str]:
    """Each span's name (and the given attributes) indented under its parent; siblings in start order, or by name
    and attributes when `by_name` (for comparing runs whose siblings may start at the same moment)."""
    by_id = {span.context.span_id: span for span in spans}
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None and span.parent.span_id in by_id else None
        children.setdefault(parent, []).append(span)

    def label(span: ReadableSpan) -> str:
        return span.name + "".join(f" {a}={span.attributes.get(a)}" for a in attributes
                                   if a in (span.attributes or {}))

    def below(parent: int | None, depth: int) -> list[str]:
        siblings = children.get(parent, [])
        if by_name:
            subtrees = sorted([label(span), *below(span.context.span_id, 1)] for span in siblings)
            return ["  " * depth + line for subtree in subtrees for line in subtree]
        lines = []
        for span in sorted(siblings, key=lambda s: (s.start_time or 0, s.name)):
            lines.append("  " * depth + label(span))
            lines.extend(below(span.context.span_id, depth + 1))
        return lines

    return below(None, 0)
