#!/bin/sh
# Makes the certificates of Tern's integration tests with the `openssl` command line, into the
# directory given (which must exist). Run by tests/integration/fixture.hpp once per test process;
# nothing is checked in and nothing outlives the run.
#
#   ca.pem                     the trusted test CA
#   server.pem / server.key    signed by ca, CN=localhost, SAN DNS:localhost, IP:127.0.0.1
#   client.pem / client.key    signed by ca, CN=tern-client, for mutual TLS
#   client-encrypted.key       the client key encrypted with the password "secret"
#   other.pem / other.key      signed by ca, SAN DNS:broker.invalid only (hostname mismatch)
#   rogue-ca.pem               an unrelated CA (unknown CA)
#   rogue-server.pem / .key    signed by rogue-ca, SAN DNS:localhost, IP:127.0.0.1
set -eu

dir=${1:?usage: make_pki.sh DIRECTORY}
cd "$dir"

key() {  # P-256: small and quick to make
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

ca() {  # ca NAME "CN"
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -out "$1.pem" -days 3 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash"
}

serial=1000
leaf() {  # leaf NAME "CN" CA USAGE [SAN]
  name=$1 cn=$2 issuer=$3 usage=$4 san=${5:-}
  key "$name.key"
  openssl req -new -key "$name.key" -out "$name.csr" -subj "/CN=$cn"
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    echo "subjectKeyIdentifier=hash"
    echo "authorityKeyIdentifier=keyid:always"
    if [ -n "$san" ]; then echo "subjectAltName=$san"; fi
  } > "$name.ext"
  serial=$((serial + 1))
  openssl x509 -req -in "$name.csr" -CA "$issuer.pem" -CAkey "$issuer.key" -set_serial "$serial" \
    -days 3 -sha256 -extfile "$name.ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

ca ca "Tern Integration Test CA"
leaf server localhost ca serverAuth "DNS:localhost,IP:127.0.0.1"
leaf client tern-client ca clientAuth
openssl pkey -in client.key -aes256 -passout pass:secret -out client-encrypted.key
leaf other broker.invalid ca serverAuth "DNS:broker.invalid"
ca rogue-ca "Rogue Test CA"
leaf rogue-server localhost rogue-ca serverAuth "DNS:localhost,IP:127.0.0.1"

# mosquitto (running as another user, when started as root without "user root") and node read
# these; they are throwaway test keys in a private temporary directory.
chmod 644 ./*.pem ./*.key
echo ok
