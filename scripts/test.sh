#!/usr/bin/env bash
# Runs every test: unit tests and end-to-end tests against the real kernel
# (as root), one file at a time, since e2e tests share the host's kernel.
# node's runner orders the files by path; `agent cleanup` tests are safe
# wherever they fall: they run in a private /run/netns of their own. Each
# test process registers its stores in a registry of its own (test/helpers/cli.ts).
# A test that hangs fails after 5 minutes instead of holding the run (the
# longest one takes about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck disable=SC2046
exec node --test --test-concurrency=1 --test-timeout=300000 $(find dist/test/unit dist/test/e2e -name '*.test.js' | sort)
