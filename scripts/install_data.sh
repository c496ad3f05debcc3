#!/usr/bin/env bash
# Installs the offline datasets that come as Debian packages, when missing: Fashion-MNIST
# (/usr/share/datasets/fashion-mnist) and the codec2 speech examples (/usr/share/codec2/wav).
# Needs root or sudo. Outside CI, when it cannot install them it says so and exits 0 (the
# experiments and tests that need them skip, naming the command). Under CI (CI=true) it exits 1:
# the tests then fail on the missing data anyway (tests/conftest.py require_data), and this says why.
set -euo pipefail
packages=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || packages+=(dataset-fashion-mnist)
[ -f /usr/share/codec2/wav/hts1a.wav ] || packages+=(codec2-examples)
[ ${#packages[@]} -eq 0 ] && exit 0
case "${CI:-}" in ""|0|false|False|FALSE|no) in_ci=0 ;; *) in_ci=1 ;; esac
fail() {  # $1: the message; fatal under CI only
    if [ "$in_ci" -eq 1 ]; then
        echo "install_data: $1 (CI=true: the data tests would fail; stopping here)" >&2
        exit 1
    fi
    echo "install_data: $1; the experiments/tests that need them skip" >&2
    exit 0
}
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo -n"; else
    fail "not root and no sudo; run 'apt-get install -y ${packages[*]}' to install ${packages[*]}"
fi
echo "install_data: installing the Debian package(s) ${packages[*]}..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq "${packages[@]}" >/dev/null 2>&1 \
    || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq "${packages[@]}" >/dev/null; } \
    || fail "could not install ${packages[*]} ('apt-get install -y ${packages[*]}' failed)"
