#!/usr/bin/env bash
# Runs before `npm test`: the browser suite drives Debian's Chromium (never a downloaded browser) and
# the deployment suite runs the shipped lighttpd and nginx configs. Installs what is missing (as root,
# the case on the CI and development machines); otherwise names the command to run.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v lighttpd >/dev/null 2>&1 || need+=(lighttpd lighttpd-mod-openssl)
[ -e /usr/lib/lighttpd/mod_openssl.so ] || need+=(lighttpd-mod-openssl)
command -v nginx >/dev/null 2>&1 || need+=(nginx-light)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "The test suite needs Debian packages: sudo apt-get install -y ${need[*]}" >&2
  exit 1
fi
echo "== installing Debian packages for the test suite: ${need[*]}"
# Their own services are not ours (the tests start private instances on loopback ports), and a
# developer's own web server must never be touched: a policy-rc.d that refuses every start keeps
# the packages' services from starting during the install, instead of stopping anything afterwards.
# An existing policy-rc.d is left as it was.
policy=/usr/sbin/policy-rc.d
ours=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# written by scripts/ensure-system-packages.sh for the duration of one install\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  ours=1
fi
trap '[ "$ours" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
