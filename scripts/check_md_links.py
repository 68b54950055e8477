#!/usr/bin/env python3
"""Check that every relative link of the given Markdown files resolves.

    python3 scripts/check_md_links.py FILE.md...

A link `[text](path)` must name an existing file or directory, relative to
the file holding it; `path#anchor` and `#anchor` must name a heading of the
target Markdown file, slugged as GitHub does (lower case, punctuation other
than `-` and `_` dropped, each space a `-`, `-1`, `-2`... for repeats).
Links inside code blocks and code spans are ignored, and so are absolute
URLs. Exits 1 naming every broken link (file, line, target), 2 on a file
that cannot be read.
"""

import os
import re
import sys

LINK = re.compile(r"\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^()\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(text):
    """(line number, line) outside fenced code blocks, code spans blanked."""
    fenced = False
    for n, line in enumerate(text.split("\n"), 1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield n, re.sub(r"`[^`]*`", lambda m: " " * len(m.group(0)), line)


def slug(heading):
    text = re.sub(r"`([^`]*)`", r"\1", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return "".join(c for c in text if c.isalnum() or c in "-_ ").replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        seen, found = {}, set()
        with open(path, encoding="utf-8") as f:
            text = f.read()
        fenced = False
        for line in text.split("\n"):
            if FENCE.match(line):
                fenced = not fenced
            elif not fenced and re.match(r"#{1,6} ", line):
                s = slug(line.lstrip("#"))
                k = seen.get(s, 0)
                seen[s] = k + 1
                found.add(s if k == 0 else "%s-%d" % (s, k))
        cache[path] = found
    return cache[path]


def check(md):
    broken = []
    try:
        with open(md, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        print("%s: cannot read: %s" % (md, e), file=sys.stderr)
        sys.exit(2)
    base = os.path.dirname(md)
    for n, line in prose_lines(text):
        for m in LINK.finditer(line):
            target = m.group(1)
            if re.match(r"[a-z][a-z0-9+.-]*:", target):
                continue
            path, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(base, path)) if path else md
            if not os.path.exists(full):
                broken.append("%s:%d: %s: no such file" % (md, n, target))
            elif anchor and full.endswith(".md") and anchor not in anchors(full):
                broken.append("%s:%d: %s: no heading #%s in %s" % (md, n, target, anchor, full))
    return broken


def main(argv):
    if not argv:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    broken = [b for md in argv for b in check(md)]
    for b in broken:
        print(b)
    print("%d files, %d broken links" % (len(argv), len(broken)))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
