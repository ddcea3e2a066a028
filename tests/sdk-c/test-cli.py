#!/usr/bin/env python3
"""The agentfense command-line tool: human output against golden files,
--json output against its schema, exit codes, and the codebase, sandbox,
run and shell commands against a real afd-server.

usage: test-cli.py AGENTFENSE GOLDEN_DIR [AFD_SERVER [AF_FUSE AF_EXEC]]
TAP output; without AFD_SERVER the server part is skipped, and the sandbox
part is skipped (with the reason) where sandboxes cannot start here.
AF_UPDATE_GOLDEN=1 rewrites the golden files from the output instead of
comparing (review the diff before committing it).
"""
import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile

# The guard the servers run under (tests/common/af_test_guard.py): however
# this test ends, nothing of theirs is left behind.
sys.path.insert(0, os.environ.get("AF_TEST_COMMON_DIR") or
                os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import af_test_guard  # noqa: E402
GUARDS = []

AGENTFENSE, GOLDEN = sys.argv[1], sys.argv[2]
AFD_SERVER = sys.argv[3] if len(sys.argv) > 3 else None
HELPERS = ([f"--fuse-helper={os.path.abspath(sys.argv[4])}",
            f"--exec-helper={os.path.abspath(sys.argv[5])}"]
           if len(sys.argv) > 5 else [])
results = []


def check(name, ok, detail=""):
    results.append((name, ok, detail))


def tool_env(endpoint=None):
    env = dict(os.environ)
    env.pop("AGENTFENSE_ENDPOINT", None)
    env["TZ"] = "UTC"
    if endpoint:
        env["AGENTFENSE_ENDPOINT"] = endpoint
    return env


def run(*args, endpoint=None, input_bytes=None, timeout=120):
    p = subprocess.run([AGENTFENSE, *args], capture_output=True, env=tool_env(endpoint),
                       input=input_bytes, timeout=timeout)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


# What changes from run to run: ids and times. Ids keep their length, so
# the table columns of a golden file stay aligned.
VOLATILE = [(re.compile(rb"\b(sb|cb|sess)_[0-9a-f]{32}\b"), lambda m: m.group(1) + b"_" + b"X" * 32),
            (re.compile(rb"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"), lambda m: b"YYYY-MM-DD hh:mm:ss")]


def normalize(data):
    for pattern, repl in VOLATILE:
        data = pattern.sub(repl, data)
    return data


def golden_compare(name, code, out, err, expect_code=0):
    path = os.path.join(GOLDEN, name)
    out = normalize(out)
    if os.environ.get("AF_UPDATE_GOLDEN") and code == expect_code:
        with open(path, "wb") as f:
            f.write(out)
    want = open(path, "rb").read() if os.path.exists(path) else b"(no golden file)\n"
    check(f"golden {name}", code == expect_code and out == want,
          f"exit {code}, stderr {err!r}\n--- got\n{out.decode(errors='replace')}"
          f"--- want\n{want.decode(errors='replace')}")


def golden(name, *args, endpoint=None, expect_code=0):
    code, out, err = run(*args, endpoint=endpoint)
    golden_compare(name, code, out, err, expect_code)


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


def json_check(name, shape, *args, endpoint=None, expect_code=0, on_stdout=None):
    """The JSON the tool prints: on stdout on success, the error object on
    stderr otherwise (on_stdout=True: a result printed with a non-zero
    exit, as run and sandbox exec do with the command's status)."""
    code, out, err = run("--json", *args, endpoint=endpoint)
    try:
        if code != expect_code:
            raise ValueError(f"exit {code}, stderr {err!r}")
        if on_stdout is None:
            on_stdout = expect_code == 0
        value = json.loads(out if on_stdout else err)
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
# run, sandbox exec and shell: the exit status is the command's, so the
# tool's own failures are 125 (usage included), as docker run does.
for args, want in [(("run",), 125), (("run", "/tmp"), 125), (("shell",), 125),
                   (("run", "--allow", "nolevel", "/tmp", "--", "true"), 125),
                   (("run", "--preset", "nope", "/tmp", "--", "true"), 125),
                   (("run", "--timeout", "soon", "/tmp", "--", "true"), 125),
                   (("run", "--rules", "/nonexistent.json", "/tmp", "--", "true"), 125),
                   (("--endpoint", "unix:/nonexistent/afd.sock", "run", "/tmp", "--", "true"),
                    125),
                   (("sandbox",), 2), (("sandbox", "exec", "sb_x"), 2),
                   (("--endpoint", "unix:/nonexistent/afd.sock", "sandbox", "ls"), 3)]:
    code, _, err = run(*args)
    check(f"exit code {want} for {' '.join(args)}", code == want, f"exit {code}: {err}")
err_json = json_check("run with an unknown preset: invalid-configuration, exit 125", ERROR,
                      "run", "--preset", "nope", "/tmp", "--", "true", expect_code=125)
check("run error names the code", err_json is not None and
      err_json["error"]["code"] == "invalid-configuration", str(err_json))
code, _, err = run("run", "--rules", rules, "--preset", "agent-safe", "/tmp", "--", "true")
check("a rule file's preset and --preset must agree", code == 125 and "preset" in err, err)

code, out, _ = run("--version")
check("--version", code == 0 and out.startswith(b"agentfense "))
code, out, _ = run("--help")
check("--help lists the commands",
      code == 0 and all(v in out for v in (b"codebase", b"policy", b"presets", b"run",
                                             b"sandbox", b"shell")))

# ---- against a real afd-server ----
SANDBOX = {"id": str, "codebase_id": str, "status": str, "error": (str, type(None)),
           "runtime": str, "image": str, "commit_mode": str,
           "resources": {"memory_bytes": int, "cpu_quota": int, "cpu_shares": int,
                         "pids_limit": int},
           "labels": dict, "permissions": [RULE],
           "created_at": (str, type(None)), "started_at": (str, type(None)),
           "stopped_at": (str, type(None)), "expires_at": (str, type(None))}
RESULT = {"command": str, "exit_code": int, "stdout": str, "stderr": str, "duration": float}
CHANGES = {"added": [str], "modified": [str], "deleted": [str], "conflicts": [str]}


def on_a_pty(args, endpoint):
    """Runs the tool with stderr on a pseudo-terminal; returns (exit, stderr
    bytes as the terminal got them)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([AGENTFENSE, *args], stdout=subprocess.DEVNULL, stderr=slave,
                         env=tool_env(endpoint))
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the last holder of the slave side is gone
            break
        if not chunk:
            break
        got += chunk
    os.close(master)
    return p.wait(timeout=60), got


def progress_on_a_terminal(ep, cb, tree):
    code, err = on_a_pty(["codebase", "upload", cb, tree], ep)
    check("upload on a terminal draws a progress bar in place",
          code == 0 and b"\r\x1b[K" in err and b"[##" in err and
          re.search(rb"(\d+)/\1 files", err) is not None and err.endswith(b"\r\n"), repr(err))
    code, _, err = run("codebase", "upload", cb, tree, endpoint=ep)
    check("no progress bar when stderr is not a terminal", code == 0 and "\r" not in err, err)


def sandboxes_unavailable():
    if not HELPERS:
        return "af-fuse was not built (no libfuse3)"
    if os.geteuid() != 0:
        return "sandboxes need root here (FUSE allow_other, whiteouts)"
    if not os.path.exists("/dev/fuse"):
        return "no /dev/fuse"
    if not shutil.which("bwrap"):
        return "bwrap is not installed"
    return None


def server_ids(ep):
    """What the server holds, asked through the tool's own --json."""
    code, out, err = run("--json", "sandbox", "ls", endpoint=ep)
    sandboxes = [s["id"] for s in json.loads(out)] if code == 0 else None
    code, out, err = run("--json", "codebase", "ls", endpoint=ep)
    codebases = [c["id"] for c in json.loads(out)] if code == 0 else None
    return sandboxes, codebases


def make_tree(top):
    tree = os.path.join(top, "project")
    os.makedirs(os.path.join(tree, "out"))
    os.makedirs(os.path.join(tree, "sub"))
    for path, text in [("hello.txt", "hello\n"), ("out/keep.txt", "k\n"), ("sub/x", "x\n"),
                       (".env", "SECRET=1\n")]:
        with open(os.path.join(tree, path), "w") as f:
            f.write(text)
    return tree


def sandbox_part(ep, top):
    tree = make_tree(top)
    code, out, err = run("codebase", "create", "proj", endpoint=ep)
    cb = out.decode().strip()
    code, _, err = run("codebase", "upload", cb, tree, endpoint=ep)
    check("sandbox part: codebase uploaded", code == 0, err)

    golden("sandbox-ls-empty.txt", "sandbox", "ls", endpoint=ep)
    created = json_check("sandbox create", SANDBOX, "sandbox", "create", cb, "--preset",
                         "agent-safe", "--allow", "/sub/**=write", "--label", "team=cli",
                         "--manual-commit", endpoint=ep)
    sb = created["id"] if created else "sb_missing"
    check("create: preset expanded, --allow appended with priority 10, labels, manual commit",
          created is not None and len(created["permissions"]) == 10 and
          created["permissions"][-1] == {"pattern": "/sub/**", "permission": "write",
                                         "type": "glob", "priority": 10} and
          created["labels"] == {"team": "cli"} and created["commit_mode"] == "manual" and
          created["status"] == "pending", str(created))
    golden("sandbox-ls.txt", "sandbox", "ls", endpoint=ep)
    json_check("sandbox ls", [SANDBOX], "sandbox", "ls", endpoint=ep)

    code, out, err = run("sandbox", "start", sb, endpoint=ep)
    check("sandbox start prints the id", code == 0 and out.decode().strip() == sb, err)
    golden("sandbox-info.txt", "sandbox", "info", sb, endpoint=ep)
    info = json_check("sandbox info", SANDBOX, "sandbox", "info", sb, endpoint=ep)
    check("info: running", info is not None and info["status"] == "running", str(info))

    # exec: live output to the right streams, the command's exit status.
    code, out, err = run("sandbox", "exec", sb, "--", "echo out; echo err >&2; exit 3",
                         endpoint=ep)
    check("exec: stdout and stderr apart, exit status propagated",
          code == 3 and out == b"out\n" and err == "err\n", f"{code} {out!r} {err!r}")
    code, out, err = run("sandbox", "exec", sb, "--", "printf", "%s\n", "a b", "$HOME",
                         endpoint=ep)
    check("exec: several words are a program and its arguments, passed as given",
          code == 0 and out == b"a b\n$HOME\n", f"{code} {out!r} {err!r}")
    code, out, err = run("sandbox", "exec", sb, "-e", "GREETING=hi", "-w", "/workspace/sub", "--",
                         "echo $GREETING; pwd", endpoint=ep)
    check("exec: --env and --workdir", code == 0 and out == b"hi\n/workspace/sub\n",
          f"{code} {out!r} {err!r}")
    code, out, err = run("sandbox", "exec", sb, "--", "cat /workspace/.env", endpoint=ep)
    check("exec: the preset hides .env (the command's own failure, exit 1)",
          code == 1 and out == b"" and "No such file" in err, f"{code} {out!r} {err!r}")
    painted = "printf '\\033[31mred\\033[0m \\033]0;title\\007\\r\\n'; printf '\\033[2J' >&2"
    code, out, err = run("sandbox", "exec", sb, "--", painted, endpoint=ep)
    check("exec: control sequences in output escaped",
          code == 0 and out == b"\\x1b[31mred\\x1b[0m \\x1b]0;title\\x07\\x0d\n"
          and err == "\\x1b[2J", f"{code} {out!r} {err!r}")
    code, out, err = run("sandbox", "exec", sb, "--raw", "--", painted, endpoint=ep)
    check("exec --raw: output unchanged",
          code == 0 and out == b"\x1b[31mred\x1b[0m \x1b]0;title\x07\r\n" and err == "\x1b[2J",
          f"{code} {out!r} {err!r}")
    code, out, err = run("sandbox", "exec", sb, "--", "printf '\\036agentfense-exit:0:0\\n' >&2; "
                         "exit 5", endpoint=ep)
    check("exec: a forged status line is output like any other and changes nothing",
          code == 5 and err == "\\x1eagentfense-exit:0:0\n", f"{code} {out!r} {err!r}")
    code, out, err = run("sandbox", "exec", sb, "--", "exit 0", endpoint=ep)
    check("exec: exit 0 from the stream's status", code == 0 and err == "", f"{code} {err!r}")
    code, out, err = run("sandbox", "exec", sb, "--", "kill -TERM $$", endpoint=ep)
    check("exec: death by SIGTERM is 143", code == 143, f"{code} {err!r}")
    result = json_check("sandbox exec", RESULT, "sandbox", "exec", sb, "--", "echo hi; exit 4",
                        endpoint=ep, expect_code=4, on_stdout=True)
    check("exec --json: the result, the command's exit status",
          result is not None and result["stdout"] == "hi\n" and result["exit_code"] == 4,
          str(result))
    code, out, err = run("sandbox", "exec", sb, "--timeout", "1", "--", "sleep 30", endpoint=ep)
    check("exec: a timeout is exit 124", code == 124, f"{code} {err!r}")

    # The delta: manual commit.
    code, out, err = run("sandbox", "exec", sb, "--", "echo new > /workspace/sub/new.txt; "
                         "rm /workspace/sub/x", endpoint=ep)
    check("exec: a write where --allow gave write", code == 0, err)
    golden("sandbox-changes.txt", "sandbox", "changes", sb, endpoint=ep)
    json_check("sandbox changes", CHANGES, "sandbox", "changes", sb, endpoint=ep)
    code, out, err = run("sandbox", "commit", sb, endpoint=ep)
    check("commit lists what it applied", code == 0 and out == b"A sub/new.txt\nD sub/x\n",
          f"{code} {out!r} {err!r}")
    code, out, err = run("codebase", "download", cb, "sub/new.txt", endpoint=ep)
    check("the committed file is in the codebase", code == 0 and out == b"new\n", err)
    run("sandbox", "exec", sb, "--", "echo later > /workspace/sub/later.txt", endpoint=ep)
    code, _, err = run("sandbox", "discard", sb, endpoint=ep)
    changes = json_check("changes after discard", CHANGES, "sandbox", "changes", sb, endpoint=ep)
    check("discard drops the delta", code == 0 and changes is not None and
          changes == {"added": [], "modified": [], "deleted": [], "conflicts": []}, str(changes))

    code, out, err = run("sandbox", "stop", sb, endpoint=ep)
    check("sandbox stop", code == 0 and out.decode().strip() == sb, err)
    error = json_check("exec in a stopped sandbox", ERROR, "sandbox", "exec", sb, "--", "true",
                       endpoint=ep, expect_code=125)
    check("exec in a stopped sandbox: sandbox-not-running",
          error is not None and error["error"]["code"] == "sandbox-not-running", str(error))
    code, out, err = run("sandbox", "rm", sb, endpoint=ep)
    check("sandbox rm", code == 0 and out.decode().strip() == sb, err)
    json_check("info of a removed sandbox", ERROR, "sandbox", "info", sb, endpoint=ep,
               expect_code=4)
    run("codebase", "rm", cb, endpoint=ep)
    check("nothing left before run", server_ids(ep) == ([], []), str(server_ids(ep)))

    run_part(ep, tree)
    shell_part(ep, tree)


def run_part(ep, tree):
    code, out, err = run("run", "--preset", "read-only", tree, "--", "cat hello.txt; exit 7",
                         endpoint=ep)
    check("run: output streamed, exit status propagated", code == 7 and out == b"hello\n",
          f"{code} {out!r} {err!r}")
    check("run: sandbox and codebase removed afterwards", server_ids(ep) == ([], []),
          str(server_ids(ep)))
    code, out, err = run("run", tree, "--", "echo bye; kill -KILL $$", endpoint=ep)
    check("run: a command killed by a signal exits 128+N, as in a shell",
          code == 137 and out == b"bye\n", f"{code} {out!r} {err!r}")
    code, out, err = run("run", tree, "--", "echo x > /workspace/hello.txt", endpoint=ep)
    check("run: view-only by default (a write fails, the command's status)",
          code != 0 and code < 124, f"{code} {err!r}")
    code, out, err = run("run", "--allow", "/**=write", tree, "--", "echo x >> hello.txt; "
                         "cat hello.txt; cat .env", endpoint=ep)
    check("run --allow: the write works, the default ignores kept .env out of the upload",
          code == 1 and out == b"hello\nx\n" and ".env" in err, f"{code} {out!r} {err!r}")
    code, out, err = run("run", "--timeout", "1", tree, "--", "sleep 30", endpoint=ep)
    check("run: a timeout is exit 124, and cleaned up",
          code == 124 and server_ids(ep) == ([], []), f"{code} {err!r}")
    painted = "printf '\\033[1mbold\\n'"
    code, out, _ = run("run", tree, "--", painted, endpoint=ep)
    check("run: control sequences escaped", code == 0 and out == b"\\x1b[1mbold\n", repr(out))
    code, out, _ = run("run", "--raw", tree, "--", painted, endpoint=ep)
    check("run --raw: unchanged", code == 0 and out == b"\x1b[1mbold\n", repr(out))
    code, err = on_a_pty(["run", tree, "--", "true"], ep)
    check("run on a terminal: the upload draws a progress bar, then the line ends",
          code == 0 and b"uploading [" in err and re.search(rb"(\d+)/\1 files", err) is not None,
          repr(err))
    result = json_check("run", RESULT, "run", tree, "--", "echo hi", endpoint=ep)
    check("run --json: the result", result is not None and result["stdout"] == "hi\n",
          str(result))

    sigint_part(tree)


def sigint_part(tree):
    """SIGINT while the command runs: the tool cleans up and exits 130, and
    the server it cancelled an ExecStream on still shuts down cleanly. On a
    server of its own, so a hang there cannot hide the other parts."""
    # Not below the first server's dir: its sockets' paths must stay short.
    top = tempfile.mkdtemp(prefix="af-cli-int-")
    os.chmod(top, 0o755)
    server, ep = start_server(top)
    if server is None:
        return
    p = subprocess.Popen([AGENTFENSE, "run", tree, "--", "echo started; sleep 60"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=tool_env(ep))
    ready, _, _ = select.select([p.stdout], [], [], 60)
    line = p.stdout.readline() if ready else b""
    during = server_ids(ep)
    p.send_signal(signal.SIGINT)
    try:
        code = p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        code = p.wait()
    err = p.stderr.read().decode(errors="replace")
    p.stdout.close()
    p.stderr.close()
    check("run: SIGINT while the command runs exits 130",
          line == b"started\n" and len(during[0]) == 1 and code == 130, f"{line!r} {during} "
          f"{code} {err!r}")
    check("run: after SIGINT no sandbox and no codebase is left on the server",
          server_ids(ep) == ([], []), str(server_ids(ep)))
    stop_server(server)


def shell_part(ep, tree):
    code, out, err = run("shell", tree, endpoint=ep,
                         input_bytes=b"cd sub\npwd\nX=1; echo $X\n\nexit 4\necho never\n")
    check("shell: lines run in one session (cd and variables persist), exit N",
          code == 4 and out == b"/workspace/sub\n1\n", f"{code} {out!r} {err!r}")
    code, out, err = run("shell", tree, endpoint=ep, input_bytes=b"echo a >&2\nfalse")
    check("shell: end of input leaves with the last status", code == 1 and err.endswith("a\n"),
          f"{code} {out!r} {err!r}")
    check("shell: sandbox and codebase removed afterwards", server_ids(ep) == ([], []),
          str(server_ids(ep)))

def start_server(top):
    """An afd-server of its own in @top; returns (process, endpoint), or
    (None, None) after a failed check."""
    socket_path = os.path.join(top, "afd.sock")
    config = os.path.join(top, "afd.conf")
    open(config, "w").close()
    r, w = os.pipe()
    GUARDS.append(af_test_guard.Guard(top))
    with open(os.path.join(top, "server.log"), "wb") as log:
        server = GUARDS[-1].spawn(
            [AFD_SERVER, f"--state-dir={top}/state", f"--socket={socket_path}", "--listen=none",
             f"--config={config}", "--ready-fd=3", *HELPERS],
            stdout=1, stderr=log, pass_fds=(w,))
    os.close(w)
    ready = os.read(r, 512)
    os.close(r)
    if not ready.startswith(b"READY "):
        server.wait()
        check("afd-server started", False, open(os.path.join(top, "server.log")).read())
        return None, None
    return server, "unix:" + socket_path


def stop_server(server):
    server.send_signal(signal.SIGTERM)
    try:
        code = server.wait(timeout=30)
        check("afd-server exits cleanly", code == 0, f"exit {code}")
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
        check("afd-server exits cleanly", False, "still running 30 s after SIGTERM: killed")


def server_part(top):
    server, ep = start_server(top)
    if server is None:
        return
    try:
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

        progress_on_a_terminal(ep, cb, tree)

        code, out, _ = run("codebase", "rm", cb, endpoint=ep)
        check("rm", code == 0 and out.decode().strip() == cb)
        json_check("rm of a missing codebase", ERROR, "codebase", "rm", cb, endpoint=ep,
                   expect_code=4)

        reason = sandboxes_unavailable()
        if reason:
            results.append((f"sandboxes # SKIP {reason}", True, ""))
        else:
            def failures():
                return sum(1 for _, ok, _ in results if not ok)
            failed_before = failures()
            sandbox_part(ep, top)
            if failures() > failed_before:
                check("server log (for the failures above)", False,
                      open(os.path.join(top, "server.log"), errors="replace").read()[-4000:])
    finally:
        stop_server(server)


if AFD_SERVER and os.access(AFD_SERVER, os.X_OK):
    top = tempfile.mkdtemp(prefix="af-cli-")
    # The sandboxes' own uids traverse the state dir to reach their mounts.
    os.chmod(top, 0o755)
    try:
        server_part(top)
    finally:
        shutil.rmtree(top)
        # Each guard kills what is left of its server (naming it on
        # stderr) and removes its dir.
        for g in GUARDS:
            check("af-test-guard cleans up", g.close() in (0, 1), g.top)
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
