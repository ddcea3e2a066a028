{
  description = "AgentFense: a least-privilege sandbox for AI agents";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.05";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      buildInputsFor = pkgs: with pkgs; [
        glib json-glib protobufc grpc fuse3 libseccomp sqlite systemd
      ];
      nativeBuildInputsFor = pkgs: with pkgs; [
        meson ninja pkg-config protobuf protobufc glib.dev python3
      ];

      # One derivation builds the tree; each component is an output subset.
      agentfenseFor = pkgs: pkgs.stdenv.mkDerivation {
        pname = "agentfense";
        version = "0.1.0";
        src = self;
        nativeBuildInputs = nativeBuildInputsFor pkgs;
        buildInputs = buildInputsFor pkgs;
        propagatedBuildInputs = [ pkgs.bubblewrap pkgs.fuse3 ];
        # The suite needs root, FUSE and namespaces: not built here (CI runs
        # it); socket activation through libsystemd.
        mesonFlags = [
          "-Dtests=false"
          "-Dsystemd=enabled"
          "-Ddocker_tests=disabled"
          "-Dinterop_tests=disabled"
        ];
        doCheck = false;
        meta = {
          description = "Least-privilege sandbox for AI agents";
          license = pkgs.lib.licenses.asl20;
          platforms = pkgs.lib.platforms.linux;
        };
      };

      componentFor = pkgs: name: paths: pkgs.runCommand "agentfense-${name}" { } ''
        mkdir -p $out
        ${pkgs.lib.concatMapStringsSep "\n" (p: ''
          if [ -e ${agentfenseFor pkgs}/${p} ]; then
            mkdir -p $out/$(dirname ${p})
            cp -r ${agentfenseFor pkgs}/${p} $out/${p}
          fi
        '') paths}
      '';
    in
    {
      packages = forAll (pkgs: {
        default = agentfenseFor pkgs;
        agentfense = agentfenseFor pkgs;
        # Same split as the Debian packages (docs/packaging.md). The server
        # finds its helpers beside it, so it carries all of libexec/agentfense.
        afd-server = componentFor pkgs "afd-server" [
          "libexec/agentfense" "lib/systemd" "etc/agentfense" "share/dbus-1"
          "share/man/man8" "share/man/man1/af-fuse.1" "share/man/man1/af-exec.1"
          "share/doc/agentfense"
        ];
        af-fuse = componentFor pkgs "af-fuse" [
          "libexec/agentfense/af-fuse" "share/man/man1/af-fuse.1"
          "share/dbus-1/interfaces/org.agentfense.Fuse1.xml"
        ];
        af-exec = componentFor pkgs "af-exec" [
          "libexec/agentfense/af-exec" "libexec/agentfense/af-exec-init"
          "share/man/man1/af-exec.1" "share/dbus-1/interfaces/org.agentfense.Exec1.xml"
        ];
        libagentfense = componentFor pkgs "libagentfense" [ "lib" "include" ];
        cli = componentFor pkgs "cli" [
          "bin/agentfense" "bin/af-policy" "share/man/man1/agentfense.1"
          "share/man/man1/af-policy.1" "share/bash-completion"
        ];
      });

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ (agentfenseFor pkgs) ];
          packages = with pkgs; [
            bubblewrap fuse3 valgrind clang-tools grpc python3Packages.grpcio
            python3Packages.protobuf busybox docker systemd
          ];
        };
      });
    };
}
