#!/usr/bin/env bash
# link-command.sh SRC DEST: make DEST a symbolic link to SRC (this checkout's
# l3ctl, or its bash completion) unless DEST belongs to someone else. Kept as
# it is, with a notice: a regular file, or a link to anything but an l3ctl
# git checkout (a packaged or `npm install -g` l3ctl is an operator's
# install). Replaced: nothing there, a dangling link, or a link into another
# l3ctl checkout (an earlier `npm run lab` from elsewhere).
set -euo pipefail
src=$1
dest=$2

# Is path $1 inside a git checkout of l3ctl?
in_checkout() {
  local d
  d=$(dirname -- "$1")
  while [ "$d" != / ] && [ "$d" != . ]; do
    if [ -e "$d/.git" ] && [ -f "$d/package.json" ] && grep -q '"name": *"l3ctl"' "$d/package.json"; then
      return 0
    fi
    d=$(dirname -- "$d")
  done
  return 1
}

if [ -L "$dest" ]; then
  target=$(readlink -f -- "$dest" || true)
  if [ -n "$target" ] && [ -e "$target" ] && ! in_checkout "$target"; then
    echo "setup: $dest links to $target, not into an l3ctl checkout: left as it is" >&2
    exit 0
  fi
elif [ -e "$dest" ]; then
  echo "setup: $dest is not a link this set-up made (an installed l3ctl?): left as it is" >&2
  exit 0
fi
ln -sfn -- "$src" "$dest"
echo "setup: $dest -> $src" >&2
