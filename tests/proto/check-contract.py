#!/usr/bin/python3
"""Checks the Python stubs generated from proto/ against wire-contract.txt,
including what protobuf-c cannot record: each method's streaming kind.
Run by meson with /usr/bin/python3 (Debian's python3-protobuf/grpcio)."""
import importlib
import sys

from google.protobuf.descriptor import FieldDescriptor as FD


def main():
    contract, stubs = sys.argv[1], sys.argv[2]
    sys.path.insert(0, stubs)
    pools = [importlib.import_module(m) for m in ("common_pb2", "codebase_pb2", "sandbox_pb2")]
    pool = pools[0].DESCRIPTOR.pool

    types = {FD.TYPE_STRING: "string", FD.TYPE_BYTES: "bytes", FD.TYPE_BOOL: "bool",
             FD.TYPE_INT32: "int32", FD.TYPE_INT64: "int64", FD.TYPE_ENUM: "enum",
             FD.TYPE_MESSAGE: "message"}
    failures = []
    checked = 0
    for raw in open(contract):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tok = line.split()
        checked += 1
        if tok[0] == "enum":
            e = pool.FindEnumTypeByName(tok[1])
            want = dict(v.split("=") for v in tok[2:])
            have = {v.name: str(v.number) for v in e.values}
            if want != have:
                failures.append(f"enum {tok[1]}: {have} != {want}")
        elif tok[0] == "message":
            m = pool.FindMessageTypeByName(tok[1])
            for spec in tok[2:]:
                parts = spec.split(":")
                name, num, typ = parts[0], int(parts[1]), parts[2]
                label = parts[3] if len(parts) > 3 else ""
                f = m.fields_by_name.get(name)
                if f is None or f.number != num:
                    failures.append(f"{tok[1]}.{name}: missing or wrong number")
                    continue
                if typ.startswith("map="):
                    ok = (f.label == FD.LABEL_REPEATED and f.message_type.GetOptions().map_entry)
                    kt, vt = typ[4:].split(",")
                    ok = ok and types[f.message_type.fields_by_name["key"].type] == kt
                    ok = ok and types[f.message_type.fields_by_name["value"].type] == vt
                    if not ok:
                        failures.append(f"{tok[1]}.{name}: not map<{typ[4:]}>")
                    continue
                base, _, ref = typ.partition("=")
                if types.get(f.type) != base:
                    failures.append(f"{tok[1]}.{name}: type {types.get(f.type)} != {base}")
                if ref and base == "message" and f.message_type.full_name != ref:
                    failures.append(f"{tok[1]}.{name}: {f.message_type.full_name} != {ref}")
                if ref and base == "enum" and f.enum_type.full_name != ref:
                    failures.append(f"{tok[1]}.{name}: {f.enum_type.full_name} != {ref}")
                repeated = f.label == FD.LABEL_REPEATED
                if repeated != (label == "repeated"):
                    failures.append(f"{tok[1]}.{name}: repeated={repeated}, contract {label!r}")
                oneof = f.containing_oneof.name if f.containing_oneof else ""
                want_oneof = label[6:] if label.startswith("oneof=") else ""
                if oneof != want_oneof:
                    failures.append(f"{tok[1]}.{name}: oneof {oneof!r} != {want_oneof!r}")
        elif tok[0] == "rpc":
            s = pool.FindServiceByName("sandbox.v1." + tok[1])
            md = s.methods_by_name.get(tok[2])
            if md is None:
                failures.append(f"rpc {tok[1]}.{tok[2]} missing")
                continue
            if md.input_type.full_name != "sandbox.v1." + tok[3] or \
               md.output_type.full_name != "sandbox.v1." + tok[4]:
                failures.append(f"rpc {tok[2]}: wrong request/response types")
            kind = {(False, False): "unary", (False, True): "server",
                    (True, False): "client", (True, True): "bidi"}[
                        (md.client_streaming, md.server_streaming)]
            if kind != tok[5]:
                failures.append(f"rpc {tok[2]}: {kind} != {tok[5]}")
        else:
            failures.append(f"bad line {line}")

    for f in failures:
        print("FAIL", f)
    print(f"checked {checked} contract lines, {len(failures)} failures")
    return 1 if failures or checked < 60 else 0


if __name__ == "__main__":
    sys.exit(main())
