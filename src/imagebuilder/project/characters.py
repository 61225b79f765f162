"""Characters no config value, path or printed name may hold, and how to show hostile text.

One rule everywhere: Unicode control characters (C0 but tab/newline/carriage return, DEL,
C1), format characters (bidi embeddings, overrides and isolates, zero-width characters,
marks such as LRM/RLM/ALM, a BOM inside the text), the line and paragraph separators
U+2028/U+2029, and lone surrogates. They are invisible or reorder what a reader sees
("Trojan Source": a file that reviews as one thing and parses as another), start
terminal escape sequences (ESC, CSI), or split one line into two for some tools.

The class is Unicode categories Cc, Cf, Zl, Zp and Cs, written out as ranges so that
nothing is computed at import; a test checks it against ``unicodedata`` for every code
point, so a newer Unicode version that adds format characters fails the test, not users.
"""

from __future__ import annotations

import re
import unicodedata

UNSAFE_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891"
    "\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ud800-\udfff\ufeff"
    "\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]"
)
# What a terminal must never receive: the above, plus tab and carriage return (which
# overwrite what was printed before). Newline stays: messages span lines on purpose.
_TERMINAL_UNSAFE = re.compile(f"{UNSAFE_CHARACTERS.pattern[:-1]}\t\r]")


def describe(character: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``; control characters have no name: ``U+001B``."""
    name = unicodedata.name(character, "")
    return f"U+{ord(character):04X}" + (f" {name}" if name else "")


def first_unsafe(text: str) -> re.Match[str] | None:
    return UNSAFE_CHARACTERS.search(text)


def refusal(text: str) -> str | None:
    """Why ``text`` is refused, or None when it holds no unsafe character."""
    found = first_unsafe(text)
    if found is None:
        return None
    return (
        f"holds the invisible or control character {describe(found.group())}; "
        "control, bidi and other format characters are refused"
    )


def terminal_safe(text: str) -> str:
    """Hostile text for a terminal: every unsafe character shown as "?"."""
    return _TERMINAL_UNSAFE.sub("?", text)
