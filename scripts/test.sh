#!/usr/bin/env bash
# Runs every test: unit tests, then end-to-end tests against the real kernel
# (as root). Test files run one at a time: e2e tests share the host's kernel,
# and `agent cleanup` tests must not meet another test's routers.
set -euo pipefail
cd "$(dirname "$0")/.."
unit=$(find dist/test/unit -name '*.test.js' | sort)
# cleanup tests remove every unmanaged qrouter- namespace: they run last.
e2e=$(find dist/test/e2e -name '*.test.js' ! -name 'cleanup*.test.js' | sort)
last=$(find dist/test/e2e -name 'cleanup*.test.js' | sort)
# Stores the tests write register in a registry of the run's own, never the
# host's (/var/lib/l3ctl/stores.json).
registry_dir=$(mktemp -d /tmp/l3ctl-test-registry-XXXXXX)
export L3CTL_REGISTRY="${L3CTL_REGISTRY:-$registry_dir/stores.json}"
trap 'rm -rf "$registry_dir"' EXIT
# shellcheck disable=SC2086
node --test --test-concurrency=1 $unit $e2e $last
