#!/usr/bin/python3
"""The GObject Introspection data of libagentfense, used the way a Python
program would through PyGObject: the typelib loads, functions, boxed
constructors, enums and the error domain work.

argv: the build dir holding AgentFense-1.typelib and libagentfense.so.
Exit 77 (skip) when PyGObject is not installed.
"""
import os
import sys
import unittest

build = sys.argv.pop(1)
os.environ["GI_TYPELIB_PATH"] = build
try:
    import gi
    gi.require_version("GIRepository", "2.0")
    from gi.repository import GIRepository
    GIRepository.Repository.prepend_library_path(build)
    GIRepository.Repository.prepend_search_path(build)
    gi.require_version("AgentFense", "1")
    from gi.repository import AgentFense, GLib, GObject
except (ImportError, ValueError) as e:  # pragma: no cover
    print(f"SKIP: PyGObject or the typelib unavailable: {e}")
    sys.exit(77)


class Gir(unittest.TestCase):
    def test_presets(self):
        names = AgentFense.presets_list()
        self.assertIn("view-only", names)
        rules = AgentFense.presets_get("read-only")
        self.assertEqual(rules[0].get_permission(), AgentFense.Permission.READ)
        with self.assertRaises(GLib.Error) as cm:
            AgentFense.presets_get("no-such-preset")
        self.assertEqual(cm.exception.code, AgentFense.SdkError.INVALID_CONFIGURATION)

    def test_client_and_errors(self):
        client = AgentFense.Client.new("/nonexistent/afd.sock", False)
        self.assertEqual(client.get_endpoint(), "unix:/nonexistent/afd.sock")
        # TLS is for TCP endpoints: a unix socket with secure is refused.
        with self.assertRaises(GLib.Error) as cm:
            AgentFense.Client.new("/nonexistent/afd.sock", True)
        self.assertEqual(AgentFense.sdk_error_code_name(cm.exception.code),
                         "invalid-configuration")
        self.assertEqual(AgentFense.Client.new("localhost:1", True).get_endpoint(), "localhost:1")
        with self.assertRaises(GLib.Error) as cm:
            client.get_sandbox("sb_x", None)
        self.assertEqual(cm.exception.code, AgentFense.SdkError.CONNECTION)

    def test_sandbox_api(self):
        options = AgentFense.SandboxOptions.new()
        options.set_preset("agent-safe")
        options.set_runtime(AgentFense.Runtime.DOCKER)
        self.assertEqual(AgentFense.runtime_to_string(AgentFense.Runtime.DOCKER), "docker")
        with self.assertRaises(GLib.Error) as cm:
            AgentFense.Sandbox.from_local("/nonexistent/dir", options)
        self.assertEqual(cm.exception.code, AgentFense.SdkError.INVALID_CONFIGURATION)
        self.assertTrue(AgentFense.Sandbox.__gtype__.is_a(GObject.Object.__gtype__))


if __name__ == "__main__":
    unittest.main(verbosity=2)
