#!/usr/bin/env bash
# What the tests could leave on this host, one line each, sorted: links named
# like l3ctl's in this (the host's own) network namespace, the tests' and
# routers' namespaces, and daemons of the tests' stores (their command lines
# name the store's files, under /tmp/l3ctl-test-*). scripts/test.sh takes it
# before and after a run: a line that is new fails the run.
set -uo pipefail
{
  ip -o link show 2>/dev/null | awk -F': ' '{ sub(/@.*/, "", $2); print "link " $2 }' | grep -E '^link (brq|tap|qr-|qg-|ha-|l3ctl)'
  ip netns list 2>/dev/null | awk '{ print "namespace " $1 }' | grep -E '^namespace (l3ctl-t-|qrouter-)'
  ps -eo args= | grep -E '/tmp/l3ctl-test-' | grep -vE '^(grep|ps) ' | sed 's/^/process /'
} | sort
exit 0
