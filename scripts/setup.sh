#!/usr/bin/env bash
# Installs what l3ctl needs (with --for-tests: what its tests need too) on a
# fresh Debian 12 with Node 20, then builds. Safe to re-run: it installs only
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: run as root (l3ctl builds namespaces, veth, bridges and iptables rules)" >&2
  exit 1
fi

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or newer is needed (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi

# System parts: iproute2 (ip), iptables, ping, arping, conntrack, sysctl
# (procps), script (util-linux, prompt tests), groff (man page lint),
# keepalived (VRRP for HA routers).
packages=(iproute2 iptables iputils-ping iputils-arping conntrack procps util-linux groff-base kmod keepalived)
# The tests also load the zsh and fish completion scripts in those shells.
if [ "${1:-}" = "--for-tests" ]; then packages+=(zsh fish); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "setup: npm ci and build" >&2
npm ci --no-audit --no-fund --loglevel=error
# A clean build: compiled tests of files that no longer exist must not run.
rm -rf dist
npm run --silent build

# The command on PATH and bash completion for interactive shells.
ln -sf "$PWD/bin/l3ctl" /usr/local/bin/l3ctl
if [ -f completions/l3ctl.bash ] && [ -d /etc/bash_completion.d ]; then
  cp completions/l3ctl.bash /etc/bash_completion.d/l3ctl
fi
echo "setup: done (l3ctl $(node bin/l3ctl --version))" >&2
