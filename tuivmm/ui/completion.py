"""Tab completion in the dashboard's one-line dialogs, as a shell does it: Tab
completes the word before the cursor (the last one typed) as far as every candidate
agrees — a packaged guest's name, a file or directory, or an option (--ram ...) —
and when more than one
candidate is left, the dialog lists them.  Tab never leaves the input (Enter, or
the buttons, do what the dialog is for)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

MAX_LISTED = 40  # candidates shown at most, after which "and N more"


def path_candidates(word: str) -> list[str]:
    """Files and directories whose path starts with `word` (directories end in "/");
    dot-files only when `word`'s last part starts with a dot."""
    directory, start = os.path.split(word)
    where = os.path.expanduser(directory) or "."
    try:
        entries = os.listdir(where)
    except OSError:
        return []
    found = []
    for entry in entries:
        if not entry.startswith(start) or (entry.startswith(".") and not start.startswith(".")):
            continue
        path = os.path.join(directory, entry)
        found.append(path + "/" if os.path.isdir(os.path.join(where, entry)) else path)
    return found


def complete(word: str, names: Sequence[str] = (), paths: bool = True,
             options: Sequence[str] = ()) -> tuple[str, list[str]]:  # fmt: skip
    """What Tab makes of `word`: (the word completed as far as the candidates agree,
    the candidates): `options` for a word that starts with "-", else `names` and, if
    `paths`, files.  A single candidate that is not a directory is completed with a
    space after it, so the next word can follow."""
    if word.startswith("-") and options:
        candidates = sorted(o for o in options if o.startswith(word))
    else:
        candidates = sorted({n for n in names if n.startswith(word)} | set(path_candidates(word) if paths else ()))
    if not candidates:
        return word, []
    common = os.path.commonprefix(candidates)
    if len(candidates) == 1 and not common.endswith("/"):
        common += " "
    return (common if len(common) >= len(word) else word), candidates


class CompletingInput(Input):
    """An Input whose Tab completes the last word (see `complete`); it posts
    `Completions` with the candidates when more than one is left (or none)."""

    BINDINGS = [Binding("tab", "complete", "complete", show=False)]

    class Completions(Message):
        def __init__(self, candidates: list[str]) -> None:
            super().__init__()
            self.candidates = candidates

    def __init__(self, *args, names: Sequence[str] | Callable[[], Sequence[str]] = (), paths: bool = True,
                 options: Sequence[str] = (), **kwargs):  # fmt: skip
        super().__init__(*args, **kwargs)
        self.names = names
        self.paths = paths
        self.options = options

    def action_complete(self) -> None:
        text = self.value[: self.cursor_position]
        rest = self.value[self.cursor_position :]
        head, _, word = text.rpartition(" ")
        head = head + " " if _ else ""
        names = self.names() if callable(self.names) else self.names
        completed, candidates = complete(word, names if not head else (), self.paths, self.options)
        if completed != word:
            self.value = head + completed + rest
            self.cursor_position = len(head + completed)
        if len(candidates) != 1:
            self.post_message(self.Completions(candidates))


def listing(candidates: list[str]) -> str:
    """The candidates as the dialog lists them."""
    if not candidates:
        return "no match"
    shown = "  ".join(os.path.basename(c.rstrip("/")) + ("/" if c.endswith("/") else "") for c in candidates[:MAX_LISTED])
    more = len(candidates) - MAX_LISTED
    return shown + (f"  … and {more} more" if more > 0 else "")
