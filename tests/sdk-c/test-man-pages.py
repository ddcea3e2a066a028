#!/usr/bin/env python3
"""The man pages of the executables: each renders without a warning, and
each describes every option its program's --help really has (a page that
misses a new flag fails here).

usage: test-man-pages.py MAN_PAGE PROGRAM [VERB...] [-- MAN_PAGE PROGRAM ...]
For a program with verbs (agentfense), the options of `PROGRAM VERB --help`
are checked too. TAP output.
"""
import re
import shutil
import subprocess
import sys

results = []


def check(name, ok, detail=""):
    results.append((name, ok, detail))


def help_text(argv):
    """The option listing: --help-all where the program has it."""
    for flag in ("--help-all", "--help"):
        p = subprocess.run(argv + [flag], capture_output=True, text=True, timeout=60)
        if p.returncode == 0 and "Unknown option" not in p.stderr:
            return p.stdout
    raise RuntimeError(f"{' '.join(argv)} --help failed: {p.stderr}")


OPTION = re.compile(r"^\s+(?:-(\w), )?--([a-z][a-z0-9-]*)", re.M)
HELP_ONLY = {"help", "help-all", "help-config", "help-global"}


def man_source_options(page):
    """Every --option the page's source names (troff writes '-' as '\\-')."""
    text = open(page, encoding="utf-8").read().replace("\\-", "-")
    text = re.sub(r"\\f[BIRP]", " ", text)  # font changes are no part of a word
    return set(re.findall(r"--([a-z][a-z0-9-]*)", text)), set(re.findall(r"(?<![\w-])-(\w)\b", text))


def check_page(page, program, verbs):
    if shutil.which("groff"):
        p = subprocess.run(["groff", "-man", "-ww", "-z", page], capture_output=True, text=True)
        check(f"{page}: renders without warnings", p.returncode == 0 and not p.stderr, p.stderr)
    else:
        results.append((f"{page}: renders # SKIP groff is not installed", True, ""))

    longs, shorts = man_source_options(page)
    for argv in [[program]] + [[program, verb] for verb in verbs]:
        try:
            listing = help_text(argv)
        except RuntimeError as e:
            check(f"{' '.join(argv[1:]) or program} --help", False, str(e))
            continue
        missing = []
        for short, long in OPTION.findall(listing):
            if long in HELP_ONLY:
                continue
            if long not in longs:
                missing.append(f"--{long}")
            if short and short not in shorts:
                missing.append(f"-{short}")
        name = " ".join([program.rsplit("/", 1)[-1]] + argv[1:])
        check(f"{page} describes every option of '{name} --help'", not missing,
              "missing: " + " ".join(missing))


groups, current = [], []
for arg in sys.argv[1:]:
    if arg == "--":
        groups.append(current)
        current = []
    else:
        current.append(arg)
groups.append(current)
for group in groups:
    if len(group) >= 2:
        check_page(group[0], group[1], group[2:])

print(f"1..{len(results)}")
for i, (name, ok, detail) in enumerate(results, start=1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        for line in str(detail).splitlines():
            print(f"# {line}")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
