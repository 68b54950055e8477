#!/usr/bin/env python3
"""Size limits of the workspace's Rust sources, checked in CI.

Usage: scripts/check_sizes.py [--max-file-lines N] [--max-fn-lines N] [--max-long-fns N]
                              [--max-width N] [--max-wide-lines N] FILE...

A file longer than --max-file-lines (700) fails. A line wider than
--max-width (100 columns, rustfmt's `max_width`) is listed; more than
--max-wide-lines (10) of them fails: rustfmt cannot break a raw string or a
comment, so those are the lines it leaves wide. A non-test function longer
than --max-fn-lines (100) is listed; more than --max-long-fns (5) of them
fails. Test code is every file under a `tests/` or `benches/` directory, every
`tests.rs`, and everything after a `#[cfg(test)]` line in a file (the
workspace keeps its unit-test modules at the end of a file).

Functions are found by their `fn` item line and measured to the brace that
closes their body; string literals, char literals and comments are skipped
so braces inside them do not count.
"""

import argparse
import re
import sys

FN_ITEM = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?((const|async|unsafe|extern\s+\"[^\"]*\")\s+)*fn\s+(\w+)")


def is_test_file(path):
    parts = path.split("/")
    return "tests" in parts[:-1] or "benches" in parts[:-1] or parts[-1] == "tests.rs"


def code_only(text):
    """The text with comments and the contents of string and char literals blanked (newlines kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
            continue
        if text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append("\n" * text.count("\n", i, j))
            i = j
            continue
        raw = re.match(r'b?r(#*)"', text[i : i + 260])
        if raw and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            close = '"' + raw.group(1)
            j = text.find(close, i + raw.end())
            j = n if j < 0 else j + len(close)
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j
            continue
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append('""' + "\n" * text.count("\n", i, j))
            i = j + 1
            continue
        if c == "'":
            lit = re.match(r"'(\\.[^']*|[^\\'])'", text[i : i + 12])
            if lit:
                out.append("' '")
                i += lit.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


def long_functions(path, text, limit):
    code = code_only(text).split("\n")
    cut = next((k for k, line in enumerate(code) if line.strip().startswith("#[cfg(test)]")), len(code))
    found = []
    for k in range(cut):
        m = FN_ITEM.match(code[k])
        if not m:
            continue
        depth, opened = 0, False
        for end in range(k, len(code)):
            for ch in code[end]:
                if ch == "{":
                    depth, opened = depth + 1, True
                elif ch == "}":
                    depth -= 1
                elif ch == ";" and not opened and depth == 0:
                    break
            else:
                if opened and depth == 0:
                    break
                continue
            break
        if opened and end - k + 1 > limit:
            found.append((end - k + 1, f"{path}:{k + 1}", m.group(5)))
    return found


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-file-lines", type=int, default=700)
    ap.add_argument("--max-fn-lines", type=int, default=100)
    ap.add_argument("--max-long-fns", type=int, default=5)
    ap.add_argument("--max-width", type=int, default=100)
    ap.add_argument("--max-wide-lines", type=int, default=10)
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    too_long, fns, wide = [], [], []
    for path in a.files:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        lines = text.count("\n")
        if lines > a.max_file_lines:
            too_long.append((lines, path))
        for k, line in enumerate(text.split("\n")):
            if len(line) > a.max_width:
                wide.append(f"{path}:{k + 1} ({len(line)})")
        if not is_test_file(path):
            fns += long_functions(path, text, a.max_fn_lines)
    for lines, path in sorted(too_long, reverse=True):
        print(f"file over {a.max_file_lines} lines: {path} ({lines})")
    for lines, where, name in sorted(fns, reverse=True):
        print(f"function over {a.max_fn_lines} lines: {name} at {where} ({lines})")
    for where in wide:
        print(f"line over {a.max_width} columns: {where}")
    print(f"{len(too_long)} files over {a.max_file_lines} lines; "
          f"{len(fns)} non-test functions over {a.max_fn_lines} lines (at most {a.max_long_fns}); "
          f"{len(wide)} lines over {a.max_width} columns (at most {a.max_wide_lines})")
    return 1 if too_long or len(fns) > a.max_long_fns or len(wide) > a.max_wide_lines else 0


if __name__ == "__main__":
    sys.exit(main())
