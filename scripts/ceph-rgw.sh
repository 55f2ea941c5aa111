#!/usr/bin/env bash
# A one-node Ceph on loopback for tests: one monitor, one OSD on memstore
# (RAM, no disk or loop device needed), one RADOS Gateway (RGW) answering
# S3 on 127.0.0.1:PORT, and an S3 user. Debian's packages: ceph-mon,
# ceph-osd, radosgw (scripts/install-test-deps.sh installs them; about
# 150 MB, only this script needs them).
#
#   bash scripts/ceph-rgw.sh start DIR PORT ACCESS_KEY SECRET_KEY
#   bash scripts/ceph-rgw.sh stop DIR
#
# Every daemon runs in the foreground of a background job, its pid in
# DIR/run/*.pid; `stop` ends those pids only. No authentication inside the
# cluster (auth none): it listens on loopback only.
set -euo pipefail

cmd=${1:?start|stop}
dir=$(realpath -m "${2:?DIR}")

stop() {
    # The gateway first, the monitor last: a radosgw whose monitor is gone
    # hangs on SIGTERM. Whatever has not exited 10 s later is killed.
    for name in rgw osd mon; do
        pidfile=$dir/run/$name.pid
        [ -e "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
        rm -f "$pidfile"
    done
}

if [ "$cmd" = stop ]; then
    stop
    exit 0
fi

port=${3:?PORT}
access=${4:?ACCESS_KEY}
secret=${5:?SECRET_KEY}
mon_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fsid=$(python3 -c 'import uuid; print(uuid.uuid4())')
mkdir -p "$dir"/{mon,osd,run,log,rgw}
conf=$dir/ceph.conf
cat > "$conf" <<CONF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$mon_port]
auth cluster required = none
auth service required = none
auth client required = none
auth supported = none
# radosgw asks for a secure connection mode, which auth none cannot give
ms mon client mode = crc
ms client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
run dir = $dir/run
log file = $dir/log/\$name.log
admin socket = $dir/run/\$name.asok
pid file = $dir/run/\$name.daemon.pid
[mon.a]
mon data = $dir/mon
[osd.0]
osd data = $dir/osd
osd objectstore = memstore
memstore device bytes = 4294967296
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$port
rgw data = $dir/rgw
CONF

ceph-authtool --create-keyring "$dir/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
monmaptool --create --addv a "[v2:127.0.0.1:$mon_port]" --fsid "$fsid" "$dir/monmap" >/dev/null
ceph-mon -c "$conf" --mkfs -i a --monmap "$dir/monmap" --keyring "$dir/mon.keyring"
ceph-mon -c "$conf" -i a -f > "$dir/log/mon.out" 2>&1 &
echo $! > "$dir/run/mon.pid"

ceph -c "$conf" --connect-timeout 30 osd create >/dev/null
ceph-osd -c "$conf" -i 0 --mkfs > "$dir/log/osd-mkfs.out" 2>&1
ceph -c "$conf" osd crush add-bucket node host >/dev/null
ceph -c "$conf" osd crush move node root=default >/dev/null
ceph -c "$conf" osd crush add osd.0 1.0 host=node >/dev/null
ceph-osd -c "$conf" -i 0 -f > "$dir/log/osd.out" 2>&1 &
echo $! > "$dir/run/osd.pid"

radosgw -c "$conf" -n client.rgw.a -f > "$dir/log/rgw.out" 2>&1 &
echo $! > "$dir/run/rgw.pid"
for _ in $(seq 120); do
    if curl -s -o /dev/null "http://127.0.0.1:$port/"; then break; fi
    sleep 1
done
curl -s -o /dev/null "http://127.0.0.1:$port/" || { echo "RGW did not answer" >&2; stop; exit 1; }
radosgw-admin -c "$conf" -n client.rgw.a user create --uid=sealbox --display-name=sealbox \
    --access-key="$access" --secret-key="$secret" >/dev/null
echo "ceph-rgw: S3 on http://127.0.0.1:$port (fsid $fsid)"
