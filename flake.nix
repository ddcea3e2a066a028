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
        mesonFlags = [ "-Ddocker_tests=disabled" "-Dinterop_tests=disabled" ];
        doCheck = false; # the suite needs root, FUSE and namespaces
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
        afd-server = componentFor pkgs "afd-server" [ "libexec/afd-server" "lib/systemd" ];
        af-fuse = componentFor pkgs "af-fuse" [ "libexec/af-fuse" ];
        af-exec = componentFor pkgs "af-exec" [ "libexec/af-exec" ];
        libagentfense = componentFor pkgs "libagentfense" [ "lib" "include" ];
        cli = componentFor pkgs "cli" [ "bin/agentfense" "bin/af-policy" ];
      });

      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ (agentfenseFor pkgs) ];
          packages = with pkgs; [
            bubblewrap fuse3 valgrind clang-tools grpc python3Packages.grpcio
            python3Packages.protobuf busybox docker
          ];
        };
      });
    };
}
