#!/usr/bin/env bash
# Installs the offline datasets that come as Debian packages, when missing: Fashion-MNIST
# (/usr/share/datasets/fashion-mnist) and the codec2 speech examples (/usr/share/codec2/wav).
# Needs root or sudo; without either it says so and the experiments/tests that need them skip.
set -euo pipefail
packages=()
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || packages+=(dataset-fashion-mnist)
[ -f /usr/share/codec2/wav/hts1a.wav ] || packages+=(codec2-examples)
[ ${#packages[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then sudo=""; elif command -v sudo >/dev/null; then sudo="sudo -n"; else
    echo "install_data: not root; run 'apt-get install -y ${packages[*]}' to enable the experiments that need them" >&2
    exit 0
fi
echo "install_data: installing the Debian package(s) ${packages[*]}..." >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq "${packages[@]}" >/dev/null 2>&1 \
    || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq "${packages[@]}" >/dev/null; } \
    || echo "install_data: could not install ${packages[*]}; the experiments/tests that need them skip" >&2
