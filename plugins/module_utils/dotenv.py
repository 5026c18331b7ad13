# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
r"""Env files as Docker Compose reads them (service `env_file:` and `--env-file`).

render() writes one NAME=value line per variable, sorted by name, quoting values so that Compose yields
exactly the original string; parse() reads such files back the way Compose does.

Compose's reader (compose-spec/compose-go, package dotenv) treats values like this:
  - unquoted: up to the end of the line, cut at " #" (inline comment), trailing whitespace dropped,
    $VAR / ${VAR} interpolated, $$ for a literal $;
  - single-quoted: literal, except that a backslash before the closing quote escapes it;
  - double-quoted: backslash escapes (\\ \" \$ \n ...) and interpolation.
render() therefore keeps values unquoted only when they consist of plain characters, single-quotes the
rest, and falls back to double quotes (escaping \\, " and $) for values with a single quote or a trailing
backslash. Newlines are rejected: not every env-file reader supports them.

Error messages name the line and variable, never the value (env files hold secrets).
"""

from __future__ import annotations

import re

# Plain characters: none of them means anything to Compose in an unquoted value.
_PLAIN_VALUE_RE = re.compile(r"[A-Za-z0-9_@%+=:,./?&*~^-]+\Z")
_RENDER_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Compose accepts more in names than shells do (dots, dashes, brackets, any letter).
_KEY_CHARS_RE = re.compile(r"[\w.\-\[\]]+\Z")
_EXPORT_RE = re.compile(r"export[ \t]+")
_INTERPOLATION_NAME_RE = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
# Compose's isSpace: blanks that are not line breaks.
_BLANKS = "\t\v\f\r \x85\xa0"
_DOUBLE_QUOTE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\"}


class DotenvError(ValueError):
    """A value that cannot be written, or a file that cannot be read; the message holds no value."""


# ---- render ----

def render_value(name, value):
    """The right-hand side of NAME=value that Compose reads back as exactly value."""
    if not isinstance(value, str):
        raise DotenvError("%s: the value must be a string, not %s" % (name, type(value).__name__))
    for char, what in (("\n", "a newline"), ("\r", "a carriage return"), ("\0", "a NUL character")):
        if char in value:
            raise DotenvError("%s: the value contains %s, which env files cannot hold - put it on one line "
                              "(e.g. base64-encode it or use \\n escapes the app expands)" % (name, what))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise DotenvError("%s: the value is not valid Unicode text (lone surrogate)" % name) from exc
    if value == "" or _PLAIN_VALUE_RE.match(value):
        return value
    if "'" not in value and not value.endswith("\\"):
        return "'%s'" % value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return '"%s"' % escaped


def render(values, header_lines=()):
    """Env-file text for values (name -> str): header comments, then NAME=value lines sorted by name."""
    lines = []
    for line in header_lines:
        if "\n" in line or "\r" in line:
            raise DotenvError("header lines must not contain line breaks - give one list item per line")
        lines.append(line if line.startswith("#") else ("# " + line).rstrip())
    for name in sorted(values):
        if not isinstance(name, str) or not _RENDER_NAME_RE.match(name):
            raise DotenvError("%r is not a valid env file variable name: use letters, digits and _, not starting with a digit"
                              % (name,))
        lines.append("%s=%s" % (name, render_value(name, values[name])))
    return "".join(line + "\n" for line in lines)


# ---- parse ----

class _Parser:
    """Compose's dotenv grammar over one text; see the module docstring."""

    def __init__(self, text, environ):
        self.text = text[1:] if text.startswith("\ufeff") else text
        self.pos = 0
        self.environ = environ or {}
        self.values = {}

    @property
    def line(self):
        return self.text.count("\n", 0, self.pos) + 1

    def error(self, message, name=None):
        prefix = "line %d" % self.line + (" (%s)" % name if name else "")
        return DotenvError("%s: %s" % (prefix, message))

    def parse(self):
        while self._skip_to_statement():
            name, inherited = self._read_key()
            if inherited:
                # A bare NAME takes its value from the environment of the reader.
                if name in self.environ:
                    self.values[name] = self.environ[name]
                continue
            self.values[name] = self._read_value(name)
        return self.values

    def _skip_to_statement(self):
        text = self.text
        while self.pos < len(text):
            char = text[self.pos]
            if char.isspace():
                self.pos += 1
            elif char == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            else:
                return True
        return False

    def _read_key(self):
        match = _EXPORT_RE.match(self.text, self.pos)
        if match:
            self.pos = match.end()
        start = self.pos
        end = start
        while end < len(self.text) and self.text[end] not in "=:\n":
            end += 1
        key = self.text[start:end].rstrip(_BLANKS)
        inherited = end >= len(self.text) or self.text[end] == "\n"
        if not _KEY_CHARS_RE.match(key):
            # The text is not quoted back: a line without "=" may well be a pasted secret.
            raise self.error("expected NAME=value, where NAME has only letters, digits, _ . - [ ]")
        self.pos = end if inherited else end + 1
        return key, inherited

    def _read_value(self, name):
        text = self.text
        while self.pos < len(text) and text[self.pos] in _BLANKS:
            self.pos += 1
        quote = text[self.pos] if self.pos < len(text) and text[self.pos] in "'\"" else None
        if quote is None:
            end = text.find("\n", self.pos)
            end = len(text) if end < 0 else end
            raw = text[self.pos:end].split(" #", 1)[0].rstrip()
            self.pos = end
            return self._interpolate(raw, name)
        return self._read_quoted(name, quote)

    def _read_quoted(self, name, quote):
        text = self.text
        start_line = self.line
        chars = []
        index = self.pos + 1
        escaped = False
        while index < len(text):
            char = text[index]
            if char == quote and not escaped:
                break
            if char == "\\" and not escaped:
                escaped = True
            else:
                # A backslash stays, except before the quote character it escapes.
                if escaped and char != quote:
                    chars.append("\\")
                escaped = False
                chars.append(char)
            index += 1
        else:
            self.pos = index
            raise DotenvError("line %d (%s): the quoted value has no closing %s" % (start_line, name, quote))
        self.pos = index + 1
        self._expect_end_of_line(name)
        value = "".join(chars)
        if quote == '"':
            value = self._interpolate(_expand_escapes(value), name)
        return value

    def _expect_end_of_line(self, name):
        text = self.text
        while self.pos < len(text) and text[self.pos] in _BLANKS:
            self.pos += 1
        if self.pos < len(text) and text[self.pos] not in "#\n":
            raise self.error("unexpected text after the closing quote - put one NAME=value per line", name=name)

    def _lookup(self, key):
        if key in self.environ:
            return self.environ[key]
        return self.values.get(key)

    def _interpolate(self, value, name):
        """Compose's ${...} interpolation against the reader's environment, then earlier lines of the file."""
        out = []
        index = 0
        while True:
            dollar = value.find("$", index)
            if dollar < 0:
                out.append(value[index:])
                return "".join(out)
            out.append(value[index:dollar])
            following = value[dollar + 1:dollar + 2]
            if following == "$":
                out.append("$")
                index = dollar + 2
                continue
            if following == "{":
                replacement, index = self._braced(value, dollar, name)
                out.append(replacement)
                continue
            match = _INTERPOLATION_NAME_RE.match(value, dollar + 1)
            if match:
                out.append(self._lookup(match.group(0)) or "")
                index = match.end()
            else:
                # A lone $ (or $ before a digit) stays literal, as in Compose.
                out.append("$")
                index = dollar + 1

    def _braced(self, value, dollar, name):
        depth = 0
        index = dollar + 1
        while index < len(value):
            if value[index] == "{":
                depth += 1
            elif value[index] == "}":
                depth -= 1
                if depth == 0:
                    break
            index += 1
        else:
            raise self.error("unclosed ${ in the value - escape a literal $ as $$", name=name)
        body = value[dollar + 2:index]
        match = _INTERPOLATION_NAME_RE.match(body)
        if not match:
            raise self.error("invalid ${...} interpolation in the value - escape a literal $ as $$", name=name)
        key, rest = match.group(0), body[match.end():]
        current = self._lookup(key)
        if rest == "":
            return current or "", index + 1
        for operator in (":-", "-", ":+", "+", ":?", "?"):
            if rest.startswith(operator):
                argument = self._interpolate(rest[len(operator):], name)
                break
        else:
            raise self.error("invalid ${...} interpolation in the value - escape a literal $ as $$", name=name)
        empty_counts = operator.startswith(":")
        is_set = current is not None and (current != "" or not empty_counts)
        if operator.endswith("-"):
            return (current if is_set else argument), index + 1
        if operator.endswith("+"):
            return (argument if is_set else (current or "")), index + 1
        if not is_set:
            raise self.error("the value requires variable %s to be set%s" % (key, ": " + argument if argument else ""), name=name)
        return current, index + 1


def _expand_escapes(value):
    """Backslash escapes of double-quoted values, as Compose expands them (\\$ becomes $$ for interpolation)."""
    out = []
    index = 0
    while index < len(value):
        char = value[index]
        following = value[index + 1:index + 2]
        if char != "\\" or not following:
            out.append(char)
            index += 1
        elif following == "$":
            out.append("$$")
            index += 2
        elif following in _DOUBLE_QUOTE_ESCAPES:
            out.append(_DOUBLE_QUOTE_ESCAPES[following])
            index += 2
        elif following == "0" and re.match(r"[0-7]{3}", value[index + 2:index + 5]) and int(value[index + 2:index + 5], 8) <= 0o377:
            out.append(chr(int(value[index + 2:index + 5], 8)))
            index += 5
        else:
            # Unknown escapes (\c, \x, \u ...) stay as written.
            out.append(char)
            index += 1
    return "".join(out)


def parse(text, environ=None):
    """Variables of an env file (name -> value) as Docker Compose reads them.

    environ supplies bare NAME lines and ${NAME} interpolation (Compose uses its own environment there);
    without it they resolve from earlier lines of the file only, and unknown names become empty, as in Compose.
    Raises DotenvError naming the line for text Compose would reject.
    """
    if not isinstance(text, str):
        raise DotenvError("env file text must be a string, not %s" % type(text).__name__)
    return _Parser(text, environ).parse()
