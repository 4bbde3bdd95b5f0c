#!/usr/bin/env bash
# Makes a self-signed certificate for localhost and 127.0.0.1 in DIR
# (cert.pem, key.pem; valid two days) and prints the base64 SHA-256 of its
# public key's SPKI, which Chromium's --ignore-certificate-errors-spki-list
# takes. usage: test-cert.sh DIR
set -euo pipefail
dir=${1:?usage: test-cert.sh DIR}
mkdir -p "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$dir/key.pem" -out "$dir/cert.pem" -days 2 -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -addext "basicConstraints=critical,CA:FALSE" 2>/dev/null
openssl x509 -in "$dir/cert.pem" -pubkey -noout \
  | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64
