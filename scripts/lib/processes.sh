# Sourced by the scripts that start cqlnode or worker processes of their own and measure them.
#
# wait_line FILE SED_EXPRESSION WHAT [PID]
#     prints the first match of SED_EXPRESSION (a `sed -n 's/…/…/p'` script) in FILE, waiting up
#     to 60 s for it; gives up early when PID (if given) has exited. On failure prints FILE and
#     "WHAT did not start" on stderr and returns 1.
# CQLNODE_PORT, WORKER_URL
#     the sed expressions for the address lines `cqlnode` and `worker` print at start-up.
# cpu_ticks PID
#     utime + stime of PID in clock ticks (0 for an empty PID).

CQLNODE_PORT='s/^cqlnode listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p'
WORKER_URL='s/^worker listening on \(http:[^ ]*\)$/\1/p'

wait_line() {
    local file="$1" expression="$2" what="$3" pid="${4:-}" value=""
    for _ in $(seq 1 600); do
        value="$(sed -n "$expression" "$file" | head -n 1)"
        [[ -n "$value" ]] && { printf '%s\n' "$value"; return 0; }
        [[ -z "$pid" ]] || kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$file" >&2
    echo "$what did not start" >&2
    return 1
}

# Fields 14 and 15 of /proc/PID/stat; the command name may hold spaces, so count after its ')'.
cpu_ticks() { if [[ -n "${1:-}" ]]; then sed 's/^.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; else echo 0; fi; }
