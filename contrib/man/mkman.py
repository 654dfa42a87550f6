#!/usr/bin/env python3
"""mkman.py -- hostflow's man pages, from the same text as its --help.

    mkman.py --hostflow ./hostflow --version V --datadir D --sysconfdir S \\
             --docdir DOC -o build/man/hostflow-run.1 contrib/man/hostflow-run.1.in

A template (contrib/man/*.in) is roff with the prose that --help has no room
for (files, signals, examples); its @...@ lines are filled from the binary:

    @SYNOPSIS CMD@     the usage line of `hostflow CMD --help` ("main": hostflow --help)
    @DESCRIPTION CMD@  the paragraphs of that help before its options
    @OPTIONS CMD@      its options, under their headings (.SS)
    @NOTES CMD@        the paragraphs after its options
    @COMMANDS@         the commands of `hostflow --help`
    @KEYS@             every configuration key, from `hostflow config`
    @VERSION@ @DATE@ @DATADIR@ @SYSCONFDIR@ @DOCDIR@   within any line

So the options and keys a man page lists are the ones the binary has; the
tests check that each flag of --help and each key of `hostflow config
--names` is in the rendered page.  DATE comes from SOURCE_DATE_EPOCH when
set (reproducible builds), else from today.

--help's shape, which this reads: blocks separated by blank lines; a block
is a usage line, a paragraph (text at column 0), an indented block
(preformatted), or a list: an optional heading ("Memory:") then entries
indented by 2 to 6 columns ("-m, --memory SIZE   what it does", or a term
alone with its text on the following, deeper lines).
"""
import argparse
import datetime
import os
import re
import subprocess
import sys


# ---------------------------------------------------------------------------
# roff text
# ---------------------------------------------------------------------------

def esc(text):
    """Plain text as roff: backslashes, and a dash that starts a word
    (an option, a minus) as \\-."""
    text = text.replace("\\", "\\e")
    return re.sub(r"(?<![\w.])-", r"\\-", text)


def line(text):
    """One input line of roff: a leading . or ' must not be a request."""
    return "\\&" + text if text[:1] in (".", "'") else text


def option_term(spec):
    """"-c, --config FILE" as bold flags and italic arguments."""
    out = []
    for i, word in enumerate(spec.split(" ")):
        sep = " " if i else ""
        if not word:
            continue
        comma = "," if word.endswith(",") else ""
        word = word.rstrip(",")
        if word.startswith("-"):
            out.append(f"{sep}\\fB{esc(word)}\\fR{comma}")
        else:
            out.append(f"{sep}\\fI{esc(word)}\\fR{comma}")
    return "".join(out)


def key_term(term):
    """"memory.max_bytes (size; default 4GiB; -m, --memory)": the name bold."""
    name, _, rest = term.partition(" ")
    return f"\\fB{esc(name)}\\fR" + (" " + esc(rest) if rest else "")


# ---------------------------------------------------------------------------
# Reading --help
# ---------------------------------------------------------------------------

def indent(s):
    return len(s) - len(s.lstrip(" "))


def blocks(text):
    cur = []
    for raw in text.splitlines():
        if raw.strip():
            cur.append(raw.rstrip())
        elif cur:
            yield cur
            cur = []
    if cur:
        yield cur


def parse_entries(lines):
    """Entries of a list: [(term, text)].  In a list of options a term is a
    line indented at most 6 that starts with "-"; in another list, a line
    indented as the first.  The text follows the term after two spaces and
    on the deeper lines after it."""
    options = lines[0].lstrip().startswith("-")
    first = indent(lines[0])
    entries = []
    for s in lines:
        body = s.strip()
        new = (indent(s) <= 6 and body.startswith("-")) if options else indent(s) == first
        if new or not entries:
            m = re.match(r"(\S.*?)(?:\s{2,}(\S.*))?$", body)
            entries.append([m.group(1), m.group(2) or ""])
        else:
            entries[-1][1] = (entries[-1][1] + " " + body).strip()
    return [(t, d) for t, d in entries]


def parse_help(text):
    """A help text as (kind, data) blocks: usage, para, pre, list."""
    out = []
    for b in blocks(text):
        first = b[0]
        if first.lower().startswith("usage:"):
            out.append(("usage", [first.split(":", 1)[1].strip()] + [s.strip() for s in b[1:]]))
        elif indent(first) == 0 and first.endswith(":") and len(b) > 1 and indent(b[1]) > 0:
            out.append(("list", (first[:-1], parse_entries(b[1:]))))
        elif indent(first) == 0:
            out.append(("para", " ".join(s.strip() for s in b)))
        elif first.lstrip().startswith("-"):
            out.append(("list", (None, parse_entries(b))))
        else:
            out.append(("pre", [s[2:] for s in b]))
    return out


def run(hostflow, *args):
    env = dict(os.environ, LC_ALL="C")
    return subprocess.run([hostflow, *args], check=True, capture_output=True, text=True,
                          env=env).stdout


# ---------------------------------------------------------------------------
# Sections
# ---------------------------------------------------------------------------

def render_para(text):
    return [line(esc(text))]


def render_pre(lines):
    return [".PP", ".RS 4", ".nf"] + [line(esc(s)) for s in lines] + [".fi", ".RE"]


def render_list(heading, entries, term):
    out = []
    if heading:
        out.append(".SS " + esc(heading))
    for t, d in entries:
        out += [".TP", term(t)]
        if d:
            out.append(line(esc(d)))
    return out


def synopsis(parsed):
    """The usage lines: "hostflow run" bold, the rest as written."""
    out = []
    for kind, data in parsed:
        if kind != "usage":
            continue
        for u in data:
            words = u.split(" ")
            n = 2 if len(words) > 1 and words[1].islower() else 1
            out.append(".B " + esc(" ".join(words[:n])))
            if words[n:]:
                out.append(line(esc(" ".join(words[n:]))))
            out.append(".br")
    return out[:-1]


def description(parsed):
    out = []
    for kind, data in parsed:
        if kind == "list":
            break
        if kind == "para":
            out += ([".PP"] if out else []) + render_para(data)
        elif kind == "pre":
            out += render_pre(data)
    return out


def options(parsed):
    out = []
    for kind, data in parsed:
        if kind == "list" and data[1] and data[1][0][0].startswith("-"):
            out += render_list(data[0], data[1], option_term)
    return out


def notes(parsed):
    out, seen = [], False
    for kind, data in parsed:
        if kind == "list":
            seen = True
            continue
        if not seen:
            continue
        if kind == "para":
            out += ([".PP"] if out else []) + render_para(data)
        elif kind == "pre":
            out += render_pre(data)
    return out


def commands(parsed):
    out = []
    for kind, data in parsed:
        if kind == "list" and data[0] == "commands":
            out += render_list(None, data[1], lambda t: "\\fB" + esc(t) + "\\fR")
    return out


def keys(text):
    """The key lists of `hostflow config`, under their headings (its opening
    paragraph is the page's DESCRIPTION, in other words)."""
    out = []
    for kind, data in parse_help(text):
        if kind == "list":
            out += render_list(data[0], data[1], key_term)
    return out


# ---------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description="hostflow's man pages from its --help")
    ap.add_argument("--hostflow", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--datadir", required=True)
    ap.add_argument("--sysconfdir", required=True)
    ap.add_argument("--docdir", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("template")
    a = ap.parse_args()

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    words = {"VERSION": a.version, "DATE": when.strftime("%Y-%m-%d"), "DATADIR": a.datadir,
             "SYSCONFDIR": a.sysconfdir, "DOCDIR": a.docdir}
    helps = {}

    def help_of(cmd):
        if cmd not in helps:
            helps[cmd] = parse_help(run(a.hostflow, "--help") if cmd == "main"
                                    else run(a.hostflow, cmd, "--help"))
        return helps[cmd]

    makers = {"SYNOPSIS": synopsis, "DESCRIPTION": description, "OPTIONS": options,
              "NOTES": notes, "COMMANDS": lambda p: commands(p)}
    out = []
    with open(a.template) as f:
        for raw in f.read().splitlines():
            if raw.startswith('.\\"'):          # the template's own comments stay there
                continue
            m = re.fullmatch(r"@([A-Z]+)(?: (\w+))?@", raw.strip())
            if m and m.group(1) == "KEYS":
                out += keys(run(a.hostflow, "config"))
            elif m and m.group(1) == "COMMANDS":
                out += commands(help_of("main"))
            elif m and m.group(1) in makers:
                out += makers[m.group(1)](help_of(m.group(2) or "main"))
            else:
                out.append(re.sub(r"@([A-Z]+)@",
                                  lambda w: esc(words[w.group(1)]) if w.group(1) in words
                                  else w.group(0), raw))
    leftover = [s for s in out if re.search(r"@[A-Z]+(?: \w+)?@", s)]
    if leftover:
        sys.exit(f"mkman: {a.template}: unknown placeholder in: {leftover[0]}")
    tmp = a.output + ".tmp"
    with open(tmp, "w") as f:
        f.write(f'.\\" Generated by contrib/man/mkman.py from {os.path.basename(a.template)}'
                " and hostflow's --help: edit those.\n")
        f.write("\n".join(out) + "\n")
    os.replace(tmp, a.output)


if __name__ == "__main__":
    main()
