#!/usr/bin/env python3
"""The ABI check of libagentfense: the dynamic symbols the shared library
exports must be exactly the AF_PUBLIC functions of the public headers and
exactly the global list of the version script, all prefixed af_.

usage: check-symbols.py NM LIBRARY VERSION_SCRIPT HEADER...
"""
import re
import subprocess
import sys


def exported(nm, library):
    out = subprocess.run([nm, "-D", "--defined-only", library], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3 or parts[1] == "A":  # "A" is the version node itself
            continue
        names.add(parts[2].split("@")[0])
    return names


def script_globals(path):
    text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
    m = re.search(r"global:(.*?)local:", text, flags=re.S)
    if not m:
        sys.exit(f"{path}: no global:/local: sections")
    return {s.strip() for s in m.group(1).split(";") if s.strip()}


def header_publics(paths):
    names = set()
    for path in paths:
        text = re.sub(r"/\*.*?\*/", "", open(path).read(), flags=re.S)
        text = re.sub(r"^\s*#.*$", "", text, flags=re.M)  # the AF_PUBLIC definition
        for m in re.finditer(r"\bAF_PUBLIC\b([^;(]*)\(", text):
            ident = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", m.group(1))
            names.add(ident[-1])
    return names


def undocumented(names, paths):
    """Public functions without a gtk-doc block ("/**" then " * name:")."""
    text = "".join(open(p).read() for p in paths)
    return sorted(n for n in names
                  if not re.search(r"/\*\*\s*\n\s*\*\s*" + re.escape(n) + r":", text))


def main():
    nm, library, script, *headers = sys.argv[1:]
    sets = {
        "exported by the library": exported(nm, library),
        "listed in the version script": script_globals(script),
        "declared AF_PUBLIC in the headers": header_publics(headers),
    }
    ok = True
    ref_name, ref = next(iter(sets.items()))
    print(f"1..{len(sets) + 2}")
    bad = sorted(n for n in ref if not n.startswith("af_"))
    if bad:
        ok = False
        print(f"not ok 1 - exported symbols without the af_ prefix: {' '.join(bad)}")
    else:
        print(f"ok 1 - all {len(ref)} exported symbols start with af_")
    for i, (name, names) in enumerate(sets.items(), start=2):
        missing = sorted(ref - names)
        extra = sorted(names - ref)
        if missing or extra:
            ok = False
            print(f"not ok {i} - symbols {name} differ from those {ref_name}: "
                  f"missing {missing}, extra {extra}")
        else:
            print(f"ok {i} - {len(names)} symbols {name}")
    missing_docs = undocumented(sets["declared AF_PUBLIC in the headers"], headers)
    if missing_docs:
        ok = False
        print(f"not ok {len(sets) + 2} - public functions without a doc comment: {missing_docs}")
    else:
        print(f"ok {len(sets) + 2} - every public function has a doc comment")
    if len(ref) == 0:
        print("Bail out! the library exports nothing")
        ok = False
    sys.exit(0 if ok else 1)


main()
