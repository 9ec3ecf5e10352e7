#!/usr/bin/env bash
# Installs the Debian packages wdfsim builds with, if any is missing.
# Needs root (apt-get); does nothing when everything is present.
set -euo pipefail
packages=(cmake ninja-build g++ clang libclang-rt-14-dev llvm libabsl-dev librapidcheck-dev libgtest-dev
          libgmock-dev libbenchmark-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}) and not root: install them with apt-get" >&2
  exit 2
fi
echo "install-deps: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
