#!/usr/bin/env bash
# Install Debian packages the tests need (chromium-headless-shell, redis-server) when we are allowed to.
set -euo pipefail
if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
  echo "cannot install $* (not root, no sudo): install it with apt-get and run again" >&2; exit 1; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
