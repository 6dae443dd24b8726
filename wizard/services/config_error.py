"""The one error a broken config.toml raises: which file, where in it, which key, and what was expected.

It is an `InvalidInputError` (the CLI answers it with exit 2, the pages show its text) that also carries
the facts as fields, so a caller can point at the line or the key without reading the message.
"""

from __future__ import annotations

import re
from pathlib import Path

from wizard.services.validation import InvalidInputError

_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


class ConfigError(InvalidInputError):
    """config.toml cannot be used as it is. `field` (and `key`) is the dotted key when one is to blame."""

    def __init__(self, path: Path, problem: str, *, key: str = "", line: int | None = None,
                 column: int | None = None, expected: str = "") -> None:
        where = str(path)
        if line is not None:
            where += f", line {line}" + (f", column {column}" if column is not None else "")
        super().__init__(key or "config", f"{where}: {problem}")
        self.path = path
        self.problem = problem
        self.key = key
        self.line = line
        self.column = column
        self.expected = expected


def syntax_error(path: Path, text: str, message: str) -> ConfigError:
    """tomllib's message ends with "(at line L, column C)" (Python 3.11 has no attributes for them)."""
    position = _TOML_POSITION.search(message)
    if position:
        return ConfigError(path, f"not valid TOML: {message[:position.start()]}.",
                           line=int(position.group(1)), column=int(position.group(2)))
    if _TOML_END.search(message):
        return ConfigError(path, f"not valid TOML (the file ends too early): {_TOML_END.sub('', message)}.",
                           line=text.count("\n") + 1, column=len(text.rpartition("\n")[2]) + 1)
    return ConfigError(path, f"not valid TOML: {message}.")


_KEY_PART = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'|[^.\s"\']+')


def _dotted(text: str) -> str:
    """`profiles."a.b"` -> `profiles.a.b`: the key as the registry and the model spell it."""
    return ".".join(part.strip("\"'") for part in _KEY_PART.findall(text))


def line_of(text: str, key: str) -> int | None:
    """The line that sets the dotted `key` (`profiles.main.port`), or that opens its table; None if not found.

    A small scanner, good enough to point a person at the right place: it knows `[table]` headers and
    `name = value` lines, which is how Mailwright and people write config.toml.
    """
    table = ""
    best: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("[") and not line.startswith("[["):
            table = _dotted(line.partition("]")[0].lstrip("["))
            if table == key:
                return number
            if best is None and key.startswith(f"{table}."):
                best = number
            continue
        name, equals, _ = line.partition("=")
        if not equals or line.startswith("#"):
            continue
        full = f"{table}.{_dotted(name)}" if table else _dotted(name)
        if full == key or key.startswith(f"{full}."):
            return number
    return best
