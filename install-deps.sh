#!/bin/sh
# Installs everything stormdb needs to build, test and run on Debian 12, from
# Debian's own packages. Safe to run again; needs root (or sudo). clang and
# its runtime (libFuzzer) build the fuzz targets, valgrind checks for leaks
# (docs/reliability.md); stormdb itself needs neither.
set -eu

packages="
  build-essential cmake pkg-config
  libpq-dev libluajit2-5.1-dev lua-cjson-dev libyaml-dev libgsl-dev libcmocka-dev
  postgresql postgresql-contrib
  clang libclang-rt-14-dev valgrind
  python3 chromium
"

if [ "$(id -u)" -ne 0 ]; then
  exec sudo "$0" "$@"
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $packages
