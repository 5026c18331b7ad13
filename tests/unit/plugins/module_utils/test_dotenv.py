# Copyright (c) backendops.stack maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Env files: render() output that Docker Compose reads back exactly, parse() with Compose's rules.

tests/integration/test_env_modules.py checks the same values against a real `docker compose config`.
"""
from __future__ import annotations

import random

import pytest

from ansible_collections.backendops.stack.plugins.module_utils.dotenv import DotenvError, parse, render, render_value

# Values that trip naive env-file writers: Compose's comment, quote, escape and interpolation rules.
AWKWARD_VALUES = [
    "", "plain", "with space", "  leading", "trailing  ", "\ttab", "a#b", "a #b", "#start", "a # b",
    "pa$word", "$HOME", "${HOME}", "$$", "$", "${{Postgres.DATABASE_URL}}", "${VAR:-default}", "100%",
    "it's", "'", "''", "'quoted'", '"', '"double"', "\"'mixed'\"", "back\\slash", "\\", "trailing\\",
    "\\'", "\\\"", "\\n", "\\$", "\\\\", "a\\\\", "=", "a=b=c", "key: value", "export X=1", "a,b;c|d&e",
    "postgresql://app:Sup3r$ecret%23@db:5432/app?schema=public&sslmode=require", "redis://:p@ss@redis:6379/0",
    "é ü ß 中文 🚀", "\u00a0nbsp\u00a0", "\u2028line-sep", "next\x85line", "\x0bvtab\x0c", "\x1b[0m",
    "{{ jinja }}", "{% raw %}", "~user", "*", "-dash", "a\tb", "x ", " ",
]


def roundtrip(values):
    text = render(values)
    assert parse(text) == values, text
    return text


# ---- render ----

def test_render_sorts_names_one_per_line_with_a_final_newline():
    assert render({"PORT": "3000", "APP": "x", "NODE_ENV": "test"}) == "APP=x\nNODE_ENV=test\nPORT=3000\n"


def test_render_writes_header_comments_first():
    text = render({"A": "1"}, header_lines=["Managed by Ansible", "", "# already a comment"])
    assert text == "# Managed by Ansible\n#\n# already a comment\nA=1\n"
    assert parse(text) == {"A": "1"}


def test_render_of_nothing_is_empty():
    assert render({}) == ""


@pytest.mark.parametrize("value,rendered", [
    ("3000", "3000"),
    ("postgresql://app:pw@db:5432/app?schema=public&x=1", "postgresql://app:pw@db:5432/app?schema=public&x=1"),
    ("", ""),
    ("with space", "'with space'"),
    ("a#b", "'a#b'"),
    ("pa$word", "'pa$word'"),
    ("back\\slash", "'back\\slash'"),
    ("it's", '"it\'s"'),
    ("trailing\\", '"trailing\\\\"'),
    ("it's $HOME \\ \"q\"", '"it\'s \\$HOME \\\\ \\"q\\""'),
])
def test_render_quotes_only_what_needs_it(value, rendered):
    assert render_value("X", value) == rendered


@pytest.mark.parametrize("value,what", [
    ("line1\nline2", "a newline"), ("crlf\r\n", "a newline"), ("cr\r", "a carriage return"), ("nul\0", "a NUL character"),
])
def test_render_rejects_line_breaks_with_a_clear_error_without_the_value(value, what):
    with pytest.raises(DotenvError) as error:
        render({"CERT_PEM": value})
    message = str(error.value)
    assert message.startswith("CERT_PEM: the value contains %s, which env files cannot hold" % what)
    assert value.strip("\r\n\0") not in message


def test_render_rejects_lone_surrogates():
    with pytest.raises(DotenvError, match="^X: the value is not valid Unicode text"):
        render({"X": "bad\udc80"})


@pytest.mark.parametrize("name", ["1ABC", "WITH-DASH", "WITH SPACE", "", "A.B", "É"])
def test_render_rejects_names_compose_and_shells_disagree_on(name):
    with pytest.raises(DotenvError, match="is not a valid env file variable name"):
        render({name: "x"})


def test_render_accepts_lower_case_names():
    assert roundtrip({"lower_case": "x"}) == "lower_case=x\n"


@pytest.mark.parametrize("value", [3000, True, None, ["a"]])
def test_render_needs_string_values(value):
    with pytest.raises(DotenvError, match="^PORT: the value must be a string, not "):
        render({"PORT": value})


def test_render_rejects_header_lines_with_line_breaks():
    with pytest.raises(DotenvError, match="header lines must not contain line breaks"):
        render({}, header_lines=["one\ntwo"])


# ---- round trip ----

@pytest.mark.parametrize("value", AWKWARD_VALUES)
def test_awkward_values_round_trip(value):
    roundtrip({"VALUE": value, "AFTER": "next-line"})


def test_all_awkward_values_round_trip_in_one_file():
    roundtrip({"V%02d" % index: value for index, value in enumerate(AWKWARD_VALUES)})


# Characters with a meaning to Compose or to Python's line splitting, plus ordinary ones.
FUZZ_ALPHABET = (
    list("abcXYZ019_-.:/@%+=,?&*~^!") + [" ", "\t", "'", '"', "\\", "$", "{", "}", "#", "(", ")", "[", "]", "`", ";", "|"]
    + ["é", "中", "🚀", "\u00a0", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x7f", "\ufeff"]
)


def random_values(seed, count):
    rng = random.Random(seed)
    values = {}
    for index in range(count):
        length = rng.choice([0, 1, 2, 3, 5, 8, 13, 40])
        values["FUZZ_%03d" % index] = "".join(rng.choice(FUZZ_ALPHABET) for dummy in range(length))
    return values


@pytest.mark.parametrize("seed", range(20))
def test_random_values_round_trip(seed):
    roundtrip(random_values(seed, 100))


def test_random_values_round_trip_one_per_file():
    for name, value in random_values(1234, 500).items():
        roundtrip({name: value})


# ---- parse: Compose's rules for files written by hand ----

def test_parse_skips_blank_lines_and_comments_and_reads_export_and_yaml_style():
    text = "\ufeff# comment\n\n   \nexport A=1\nB: two\n  C = three  \n#D=4\nE=5 # inline comment\nF=6#not-a-comment\n"
    assert parse(text) == {"A": "1", "B": "two", "C": "three", "E": "5", "F": "6#not-a-comment"}


def test_parse_reads_crlf_files():
    assert parse("A=1\r\nB='two'\r\nC=\"3\"\r\n") == {"A": "1", "B": "two", "C": "3"}


def test_parse_single_quotes_are_literal():
    assert parse("A='$HOME \\n # x'\nB='\\\\'\n") == {"A": "$HOME \\n # x", "B": "\\\\"}


def test_parse_single_quoted_escaped_quote_is_kept_as_compose_does():
    assert parse("A='it\\'s'\n") == {"A": "it's"}


def test_parse_double_quotes_expand_escapes():
    text = 'A="tab\\there"\nB="nl\\nx"\nC="q\\"q"\nD="b\\\\s"\nE="d\\$x"\nF="\\0101"\nG="\\c\\x41"\n'
    assert parse(text) == {"A": "tab\there", "B": "nl\nx", "C": 'q"q', "D": "b\\s", "E": "d$x", "F": "A", "G": "\\c\\x41"}


def test_parse_quoted_values_may_span_lines():
    assert parse("A='one\ntwo'\nB=\"x\ny\"\n") == {"A": "one\ntwo", "B": "x\ny"}


def test_parse_empty_values():
    assert parse("A=\nB=''\nC=\"\"\nD=   \n") == {"A": "", "B": "", "C": "", "D": ""}


def test_parse_interpolates_like_compose():
    text = (
        "BASE=/srv\nPATHS=$BASE/a:${BASE}/b\nESC=$$BASE\nLONE=cost $5 $\nUNSET=[${NOPE}]\n"
        "DEF=${NOPE:-fallback}\nDEF_EMPTY=${EMPTY:-used}\nDEF_SET_EMPTY=${EMPTY-kept}\nEMPTY=\n"
        "ALT=${BASE:+alt}\nALT_UNSET=${NOPE+alt}\nNESTED=${NOPE:-${BASE}/n}\nQUOTED=\"$BASE\"\nSINGLE='$BASE'\n"
    )
    values = parse(text)
    assert values["PATHS"] == "/srv/a:/srv/b"
    assert values["ESC"] == "$BASE"
    assert values["LONE"] == "cost $5 $"
    assert values["UNSET"] == "[]"
    assert values["DEF"] == "fallback"
    assert values["DEF_EMPTY"] == "used"  # EMPTY is defined only later in the file
    assert values["ALT"] == "alt" and values["ALT_UNSET"] == ""
    assert values["NESTED"] == "/srv/n"
    assert values["QUOTED"] == "/srv" and values["SINGLE"] == "$BASE"


def test_parse_takes_the_environment_first_and_bare_names_from_it():
    text = "HOST=file\nURL=http://$HOST\nFROM_ENV\nMISSING\n"
    assert parse(text, environ={"HOST": "env", "FROM_ENV": "yes"}) == {"HOST": "file", "URL": "http://env", "FROM_ENV": "yes"}
    assert parse(text) == {"HOST": "file", "URL": "http://file"}


def test_parse_of_empty_text_is_empty():
    assert parse("") == {} and parse("\n# only a comment\n") == {}


@pytest.mark.parametrize("text,message", [
    ("A=1\nB='Sec4Ret9\nC=2\n", "line 2 (B): the quoted value has no closing '"),
    ('A="Sec4Ret9', 'line 1 (A): the quoted value has no closing "'),
    ("A=1\nSec4 Ret9\n", "line 2: expected NAME=value, where NAME has only letters, digits, _ . - [ ]"),
    ("A=1\nB C=Sec4Ret9\n", "line 2: expected NAME=value, where NAME has only letters, digits, _ . - [ ]"),
    ("A='Sec4' Ret9\n", "line 1 (A): unexpected text after the closing quote - put one NAME=value per line"),
    ("A=${Sec4Ret9\n", "line 1 (A): unclosed ${ in the value - escape a literal $ as $$"),
    ("A=${9Sec4Ret}\n", "line 1 (A): invalid ${...} interpolation in the value - escape a literal $ as $$"),
    ("A=${B!Sec4Ret9}\n", "line 1 (A): invalid ${...} interpolation in the value - escape a literal $ as $$"),
    ("A=${B:?Sec4Ret9 is needed}\n", "line 1 (A): the value requires variable B to be set: Sec4Ret9 is needed"),
])
def test_parse_errors_name_the_line_and_variable(text, message):
    with pytest.raises(DotenvError) as error:
        parse(text)
    assert str(error.value) == message


@pytest.mark.parametrize("text", ["A=1\nB='Sec4Ret9\n", "Sec4Ret9 x\n", "A='Sec4Ret9' tail\n", "A=${Sec4Ret9\n"])
def test_parse_errors_never_quote_the_value(text):
    with pytest.raises(DotenvError) as error:
        parse(text)
    assert "Sec4Ret9" not in str(error.value)


def test_parse_needs_text():
    with pytest.raises(DotenvError, match="env file text must be a string, not bytes"):
        parse(b"A=1")
