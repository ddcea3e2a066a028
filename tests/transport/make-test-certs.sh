#!/bin/sh
# make-test-certs.sh DIR — throwaway PKI for the TLS tests, written into DIR
# (which the caller created and removes):
#   ca.pem / ca.key          the CA the server and client certificates chain to
#   server.pem / server.key  for localhost and 127.0.0.1
#   named.pem / named.key    for the name afd.test only (server-name override)
#   client.pem / client.key  a client certificate (mutual TLS)
#   other-ca.pem             a second CA that issued none of them
#   other-client.pem / .key  a client certificate from the other CA
#   rotated.pem / rotated.key for localhost, from the other CA (a renewal
#                            a client trusting only ca.pem refuses)
# Exit 77 (skip) when openssl is missing. Keys are P-256: fast to make.
set -eu
dir=$1
command -v openssl >/dev/null 2>&1 || { echo "openssl is missing" >&2; exit 77; }
cd "$dir"

ca() { # NAME CN
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$1.key" -out "$1.pem" -subj "/CN=$2" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
}

leaf() { # NAME CA CN EXT...
  name=$1 issuer=$2 cn=$3
  shift 3
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn" 2>/dev/null
  printf '%s\n' "$@" > "$name.ext"
  openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" -CAcreateserial \
    -days 2 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

ca ca "AgentFense test CA"
ca other-ca "Some other CA"
leaf server ca localhost "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth"
leaf named ca afd.test "subjectAltName=DNS:afd.test" "extendedKeyUsage=serverAuth"
leaf client ca test-client "extendedKeyUsage=clientAuth"
leaf other-client other-ca other-client "extendedKeyUsage=clientAuth"
leaf rotated other-ca localhost "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  "extendedKeyUsage=serverAuth"
rm -f ./*.srl
