#!/usr/bin/env python3
"""The agentfense command-line tool: human output against golden files,
--json output against its schema, exit codes, and the codebase commands
against a real afd-server.

usage: test-cli.py AGENTFENSE GOLDEN_DIR [AFD_SERVER]
TAP output; without AFD_SERVER the server part is skipped.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

AGENTFENSE, GOLDEN = sys.argv[1], sys.argv[2]
AFD_SERVER = sys.argv[3] if len(sys.argv) > 3 else None
results = []


def check(name, ok, detail=""):
    results.append((name, ok, detail))


def run(*args, endpoint=None, input_bytes=None):
    env = dict(os.environ)
    env.pop("AGENTFENSE_ENDPOINT", None)
    if endpoint:
        env["AGENTFENSE_ENDPOINT"] = endpoint
    p = subprocess.run([AGENTFENSE, *args], capture_output=True, env=env, input=input_bytes,
                       timeout=60)
    return p.returncode, p.stdout, p.stderr.decode()


def golden(name, *args):
    code, out, err = run(*args)
    want = open(os.path.join(GOLDEN, name), "rb").read()
    check(f"golden {name}", code == 0 and out == want,
          f"exit {code}, stderr {err!r}\n--- got\n{out.decode()}--- want\n{want.decode()}")


def schema(value, shape, path="$"):
    """Raise if value does not have shape: a type, a [shape] list, or a
    {key: shape} dict whose keys must all be present (and no others)."""
    if isinstance(shape, list):
        if not isinstance(value, list):
            raise ValueError(f"{path}: expected an array")
        for i, item in enumerate(value):
            schema(item, shape[0], f"{path}[{i}]")
    elif isinstance(shape, dict):
        if not isinstance(value, dict):
            raise ValueError(f"{path}: expected an object")
        if set(value) != set(shape):
            raise ValueError(f"{path}: keys {sorted(value)} != {sorted(shape)}")
        for key, sub in shape.items():
            schema(value[key], sub, f"{path}.{key}")
    elif isinstance(shape, tuple):
        if not isinstance(value, shape):
            raise ValueError(f"{path}: {value!r} is not {shape}")
    elif not isinstance(value, shape) or (shape is int and isinstance(value, bool)):
        raise ValueError(f"{path}: {value!r} is not {shape.__name__}")


def json_check(name, shape, *args, endpoint=None, expect_code=0):
    code, out, err = run("--json", *args, endpoint=endpoint)
    try:
        if code != expect_code:
            raise ValueError(f"exit {code}, stderr {err!r}")
        value = json.loads(out if expect_code == 0 else err)
        schema(value, shape)
        check(f"json {name}", True)
        return value
    except ValueError as e:
        check(f"json {name}", False, str(e))
        return None


RULE = {"pattern": str, "permission": str, "type": str, "priority": int}
ERROR = {"error": {"code": str, "message": str, "exit_code": int}}
CODEBASE = {"id": str, "name": str, "owner_id": str, "size": int, "file_count": int,
            "created_at": (str, type(None)), "updated_at": (str, type(None))}
FILE = {"path": str, "name": str, "is_dir": bool, "size": int,
        "modified_at": (str, type(None))}

# ---- no server needed ----
golden("presets-ls.txt", "presets", "ls")
golden("presets-show-development.txt", "presets", "show", "development")
rules = os.path.join(GOLDEN, "rules.json")
golden("policy-explain.txt", "policy", "explain", "--rules", rules, "/src/main.c",
       "src/.env.local", "/docs/internal/plan.md", "/README.md")

json_check("presets ls", [{"name": str, "rules": [RULE]}], "presets", "ls")
shown = json_check("presets show", {"name": str, "rules": [RULE]}, "presets", "show", "agent-safe")
check("presets show agent-safe has 9 rules", shown is not None and len(shown["rules"]) == 9)
explained = json_check("policy explain",
                       [{"path": str, "permission": str, "rule": dict(RULE, index=int),
                         "matches": [dict(RULE, index=int)]}],
                       "policy", "explain", "--rules", rules, "src/.env")
check("policy explain decides none for src/.env",
      explained is not None and explained[0]["permission"] == "none"
      and explained[0]["rule"]["index"] == 2)
json_check("unknown preset error", ERROR, "presets", "show", "nope", expect_code=6)

for args, want in [((), 2), (("frobnicate",), 2), (("presets",), 2), (("presets", "--bogus"), 2),
                   (("policy", "explain", "x"), 2),
                   (("policy", "explain", "--rules", "/nonexistent.json", "x"), 6),
                   (("policy", "explain", "--rules", rules, "../../etc"), 6),
                   (("--endpoint", "unix:/nonexistent/afd.sock", "codebase", "ls"), 3)]:
    code, _, err = run(*args)
    check(f"exit code {want} for {' '.join(args) or '(no arguments)'}", code == want,
          f"exit {code}: {err}")
code, out, _ = run("--version")
check("--version", code == 0 and out.startswith(b"agentfense "))
code, out, _ = run("--help")
check("--help lists the commands",
      code == 0 and all(v in out for v in (b"codebase", b"policy", b"presets")))

# ---- against a real afd-server ----
def server_part(top):
    socket_path = os.path.join(top, "afd.sock")
    config = os.path.join(top, "afd.conf")
    open(config, "w").close()
    r, w = os.pipe()
    server = subprocess.Popen(
        [AFD_SERVER, f"--state-dir={top}/state", f"--socket={socket_path}", "--listen=none",
         f"--config={config}", f"--ready-fd={w}"],
        pass_fds=(w,), stderr=open(os.path.join(top, "server.log"), "wb"))
    os.close(w)
    ready = os.read(r, 512)
    os.close(r)
    try:
        if not ready.startswith(b"READY "):
            check("afd-server started", False, open(os.path.join(top, "server.log")).read())
            return
        ep = "unix:" + socket_path
        code, out, err = run("codebase", "create", "demo", endpoint=ep)
        cb = out.decode().strip()
        check("codebase create prints the id", code == 0 and cb.startswith("cb_"), err)

        tree = os.path.join(top, "tree")
        os.makedirs(os.path.join(tree, "src"))
        for path, text in [("src/a.py", "print(1)\n"), ("notes.log", "x\n"),
                           (".gitignore", "*.log\n"), ("big.bin", "z" * 4096)]:
            with open(os.path.join(tree, path), "w") as f:
                f.write(text)
        up = json_check("codebase upload",
                        {"codebase_id": str, "files": int, "bytes": int,
                         "skipped": [{"path": str, "reason": str, "size": int}]},
                        "codebase", "upload", cb, tree, "--max-file-size=1K", endpoint=ep)
        check("upload: ignore files honoured, large file skipped and reported",
              up is not None and up["files"] == 2 and
              up["skipped"] == [{"path": "big.bin", "reason": "too-large", "size": 4096}])
        code, out, err = run("codebase", "upload", cb, tree, "--ignore=src/", "--max-file-size=1K",
                             endpoint=ep)
        check("upload (human) summary", code == 0 and out == b"uploaded 1 file (6 B), skipped 1\n"
              and "skipped big.bin (too-large)" in err, f"{out!r} {err!r}")

        files = json_check("codebase files", [FILE], "codebase", "files", cb, "-r", endpoint=ep)
        check("files lists what was uploaded",
              files is not None and sorted(f["path"] for f in files if not f["is_dir"]) ==
              [".gitignore", "src/a.py"])
        listed = json_check("codebase ls", [CODEBASE], "codebase", "ls", endpoint=ep)
        check("ls shows the codebase", listed is not None and [c["id"] for c in listed] == [cb])
        code, out, _ = run("codebase", "ls", endpoint=ep)
        lines = out.decode().splitlines()
        check("ls (human) is a table", code == 0 and lines[0].split() ==
              ["ID", "NAME", "OWNER", "FILES", "SIZE", "CREATED"] and lines[1].startswith(cb))

        code, out, _ = run("codebase", "download", cb, "/src/a.py", endpoint=ep)
        check("download to stdout", code == 0 and out == b"print(1)\n")
        dest = os.path.join(top, "out.py")
        with open(dest, "w") as f:
            f.write("old\n")
        code, _, err = run("codebase", "download", cb, "missing.py", "-o", dest, endpoint=ep)
        check("download of a missing file: exit 4, destination untouched",
              code == 4 and open(dest).read() == "old\n", f"exit {code}: {err}")
        code, _, _ = run("codebase", "download", cb, "src/a.py", "-o", dest, endpoint=ep)
        check("download -o", code == 0 and open(dest).read() == "print(1)\n")

        code, out, _ = run("codebase", "rm", cb, endpoint=ep)
        check("rm", code == 0 and out.decode().strip() == cb)
        json_check("rm of a missing codebase", ERROR, "codebase", "rm", cb, endpoint=ep,
                   expect_code=4)
    finally:
        server.send_signal(signal.SIGTERM)
        check("afd-server exits cleanly", server.wait(timeout=30) == 0)


if AFD_SERVER and os.access(AFD_SERVER, os.X_OK):
    top = tempfile.mkdtemp(prefix="af-cli-")
    try:
        server_part(top)
    finally:
        shutil.rmtree(top)
    skip_server = None
else:
    skip_server = "afd-server not built"

print(f"1..{len(results) + (1 if skip_server else 0)}")
for i, (name, ok, detail) in enumerate(results, start=1):
    print(f"{'ok' if ok else 'not ok'} {i} - {name}")
    if not ok and detail:
        for line in str(detail).splitlines():
            print(f"# {line}")
if skip_server:
    print(f"ok {len(results) + 1} # SKIP {skip_server}")
sys.exit(0 if all(ok for _, ok, _ in results) else 1)
