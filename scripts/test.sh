#!/usr/bin/env bash
# Runs every test: unit tests and end-to-end tests against the real kernel
# (as root), one file at a time, since e2e tests share the host's kernel.
# node's runner orders the files by path; `agent cleanup` tests are safe
# wherever they fall: they run in a private /run/netns of their own. Each
# test process registers its stores in a registry of its own (test/helpers/cli.ts).
# A test that hangs fails after 5 minutes instead of holding the run (the
# longest one takes about a minute).
#
# Every test cleans up after itself. What the tests could leave on the host
# (links named like l3ctl's in this namespace, the tests' namespaces, their
# daemons) is listed before and after the run: anything new fails it, even
# when every test passed. A crash in an `after` hook shows up here.
set -euo pipefail
cd "$(dirname "$0")/.."

before=$(scripts/leftovers.sh)
status=0
# shellcheck disable=SC2046
node --test --test-concurrency=1 --test-timeout=300000 $(find dist/test/unit dist/test/e2e -name '*.test.js' | sort) || status=$?
new=$(comm -13 <(printf '%s\n' "$before") <(scripts/leftovers.sh) | grep . || true)
if [ -n "$new" ]; then
  echo "test.sh: the tests left these behind on the host:" >&2
  printf '  %s\n' "$new" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
