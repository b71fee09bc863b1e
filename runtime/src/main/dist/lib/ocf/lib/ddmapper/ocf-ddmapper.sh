# Shared by the ddmapper OCF resource agents (lib/ocf/resource.d/ddmapper/appliance and device), sourced
# after Pacemaker's ocf-shellfuncs: where the distribution is, whether an appliance runs on a home, and
# bin/ddsetup calls bounded in time (everything the agents do to a running appliance goes through
# bin/ddsetup, but for the forced removal, one ddlink REMOVE item). POSIX sh.

# The distribution an agent belongs to: DIST/lib/ocf/resource.d/ddmapper/AGENT, through any symlink
# (/usr/lib/ocf/resource.d/ddmapper -> /opt/ddmapper/lib/ocf/resource.d/ddmapper).
ddm_dist_of() {
    ddm_real=$(readlink -f "$1") || return 1
    echo "${ddm_real%/lib/ocf/resource.d/ddmapper/*}"
}

# The pid of the appliance that holds HOME, or nothing (status 1) when none runs there. The launcher
# writes its pid into HOME/run/ddmapper.lock and holds the file locked while it lives; the pid is only
# taken when that process is still a ddmapper launcher (a pid of a dead appliance may have been reused).
ddm_appliance_pid() {
    ddm_pid=$( { tr -dc 0-9 < "$1/run/ddmapper.lock"; } 2>/dev/null)
    [ -n "$ddm_pid" ] && ddm_is_appliance "$ddm_pid" && echo "$ddm_pid"
}

# Whether process PID is a ddmapper launcher (org.ddmapper.runtime.Main).
ddm_is_appliance() {
    { tr '\0' '\n' < "/proc/$1/cmdline"; } 2>/dev/null | grep -qx 'org.ddmapper.runtime.Main'
}

# Seconds a single ddsetup call may take: what is left of this operation's timeout (Pacemaker passes
# it in milliseconds) less a margin for the agent's own work, at least 5 and at most 60.
ddm_call_seconds() {
    ddm_ms=${OCF_RESKEY_CRM_meta_timeout:-20000}
    ddm_s=$((ddm_ms / 1000 - 5))
    [ "$ddm_s" -lt 5 ] && ddm_s=5
    [ "$ddm_s" -gt 60 ] && ddm_s=60
    echo "$ddm_s"
}

# Runs bin/ddsetup against the control socket DDM_SOCKET, bounded by ddm_call_seconds. Its stdout goes
# to DDM_OUT, its stderr (ddsetup's one-line sentence) to DDM_ERR; returns ddsetup's status (124 when
# the call ran out of time).
ddm_ddsetup() {
    DDM_OUT=
    DDM_ERR=
    ddm_errfile=$(mktemp) || return 1
    DDM_OUT=$(timeout -k 2 "$(ddm_call_seconds)" "$DDM_DIST/bin/ddsetup" --socket "$DDM_SOCKET" "$@" 2>"$ddm_errfile")
    ddm_rc=$?
    DDM_ERR=$(cat "$ddm_errfile")
    rm -f "$ddm_errfile"
    [ $ddm_rc = 124 ] && DDM_ERR="ddsetup $1 did not answer within $(ddm_call_seconds) s"
    return $ddm_rc
}

# Whether the last ddsetup failure said the device does not exist (ENXIO: "no device named 'x'").
ddm_no_such_device() {
    case $DDM_ERR in *"no device named"*) return 0 ;; esac
    return 1
}

# Removes device $1 with ddlink's forced REMOVE (op 8, flag FORCE; bundles/control/README.md, OPS),
# bounded like ddm_ddsetup: its NBD clients are disconnected, its queued and in-flight I/O fails, and it
# goes even while clients hold it open. (`ddsetup remove --force` does what dmsetup does: it swaps in an
# error table and keeps a device that is open, so clients would see errors instead of a lost connection
# to reconnect.) python3 is there wherever resource-agents is. The failure sentence goes to DDM_ERR.
ddm_force_remove() {
    ddm_python=/usr/bin/python3  # the system's (a version manager's shim in PATH can take seconds to start)
    [ -x "$ddm_python" ] || ddm_python=python3
    DDM_ERR=$(timeout -k 2 "$(ddm_call_seconds)" "$ddm_python" - "$DDM_SOCKET" "$1" 2>&1 <<'PYEOF'
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
name = sys.argv[2].encode()
s.send(struct.pack("<IIiI", 8, 1, 1, len(name)) + name)  # op REMOVE, tag 1, target FORCE
op, tag, status, length = struct.unpack_from("<IIiI", reply := s.recv(196608))
if status != 0:
    sys.exit(reply[16:16 + length].decode("utf-8", "replace") or os.strerror(-status))
PYEOF
)
    ddm_rc=$?
    [ $ddm_rc = 124 ] && DDM_ERR="the forced remove of $1 did not answer within $(ddm_call_seconds) s"
    return $ddm_rc
}
