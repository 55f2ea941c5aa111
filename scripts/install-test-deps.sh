#!/usr/bin/env bash
# Install the Debian packages the test suite needs beyond pip's:
#   postgresql  - initdb and postgres, for the MetaStore tests on PostgreSQL
#                 (sealbox.testing.postgres starts a throwaway cluster; no
#                 service is started or enabled here)
#   chromium    - the real browser of tests/integration/test_browser.py,
#                 driven by Playwright (whose own browser downloads fail here)
#   curl        - fetches links in the tests and in every guide (tests/docs)
#   goaccess    - reads the delivered S3 server access logs (--log-format=AWSS3)
#                 in tests/integration/test_access_logs.py
#   rclone s3cmd - the S3 clients of tests/integration/test_rclone.py and
#                 test_s3cmd.py, as Debian ships them
#   haproxy     - the load balancer in front of several nodes in
#                 tests/integration/test_topology.py (started by the test on
#                 loopback ports; the package's own service is not started)
#   ceph-mon ceph-osd radosgw - a one-node Ceph RADOS Gateway, the S3 blob
#                 backend of test_s3_backend_ceph.py (scripts/ceph-rgw.sh
#                 starts it; no service is started or enabled here)
# Idempotent: installs only what is missing, and runs apt-get update only
# then. Needs root (or sudo) on Debian/Ubuntu; elsewhere it says what to
# install and exits non-zero.
set -euo pipefail

packages=(postgresql chromium rclone s3cmd curl haproxy goaccess ceph-mon ceph-osd radosgw)

# Node.js runs the JavaScript SDK tests (tests/js); the machine's own node is
# used when there is one.
command -v node >/dev/null || packages+=(nodejs npm)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
install_debian_packages() {
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-test-deps: already installed: ${packages[*]}"
    return 0
fi

if ! command -v apt-get >/dev/null; then
    echo "install-test-deps: no apt-get here; install PostgreSQL server binaries" \
         "(initdb, postgres) yourself, or set SEALBOX_PG_BINDIR" >&2
    exit 1
fi
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
fi

echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
# policy-rc.d refuses service starts: the package's own cluster is not
# wanted (the tests start theirs) and there may be no init system.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
    "${sudo[@]}" chmod +x "$policy"
    trap '"${sudo[@]}" rm -f "$policy"' EXIT
fi
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
install_debian_packages

# The npm packages of the JavaScript SDK tests, exactly as locked.
npm ci --prefix "$(dirname "$0")/../tests/js" --no-audit --no-fund --loglevel=error
