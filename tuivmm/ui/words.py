"""Small helpers for the words the dashboard shows."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """`count` and the noun in the number it takes: "1 line", "2 lines", "0 lines"."""
    return f"{count:,} {noun if count == 1 else (nouns or noun + 's')}"
