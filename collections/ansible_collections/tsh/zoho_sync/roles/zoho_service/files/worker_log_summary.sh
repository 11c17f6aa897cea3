#!/bin/sh
# Count the TSH ERP sync worker's log lines of the last MINUTES minutes, per unit or
# container, on the host itself (the log can hold hundreds of thousands of lines an
# hour when the re-processing loop runs; only the counts travel back).
#
# usage: worker_log_summary.sh systemd|docker MINUTES NAME...
# output: "now<TAB><host epoch seconds>", then per NAME one line
#   log<TAB>NAME<TAB>RC<TAB>LINES<TAB>STARTED<TAB>PROCESSING<TAB>PROCESSED<TAB>RETRIED<TAB>DEAD_LETTERED
#      <TAB>LAST_ACTIVITY<TAB>LAST_STARTED<TAB>ERROR
# LAST_* are the log's own timestamps (journal: epoch seconds; docker: RFC 3339), "-" when none.
# Read-only: it never changes anything.
set -u
manager=$1
minutes=$2
shift 2
printf 'now\t%s\n' "$(date +%s)"

summarise() {
    awk -v name="$1" '
    BEGIN { n = 0; started = 0; processing = 0; processed = 0; retried = 0; dead = 0;
            last = "-"; last_started = "-"; rc = "0"; err = "" }
    /^__ZOHO_RC__ / { rc = $2; next }
    { n++; hit = 0 }
    /Sync worker [^ ]+ started/           { started++;    hit = 1; last_started = $1 }
    /Processing event: /                  { processing++; hit = 1 }
    /Event processed successfully/        { processed++;  hit = 1 }
    /Event will be retried/               { retried++;    hit = 1 }
    /Event moved to dead letter queue/    { dead++;       hit = 1 }
    hit == 1 { last = $1 }
    hit == 0 { err = $0 }
    END {
        if (rc != "0") { gsub(/\t/, " ", err) } else { err = "" }
        printf "log\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n", name, rc, n, started, processing,
               processed, retried, dead, last, last_started, err
    }'
}

for name in "$@"; do
    case "$manager" in
        systemd)
            { journalctl --no-pager --quiet --output=short-unix --since "-${minutes}min" -u "$name" 2>&1
              echo "__ZOHO_RC__ $?"; } | summarise "$name"
            ;;
        docker)
            { docker logs --timestamps --since "${minutes}m" "$name" 2>&1
              echo "__ZOHO_RC__ $?"; } | summarise "$name"
            ;;
        *)
            printf 'log\t%s\t2\t0\t0\t0\t0\t0\t0\t-\t-\tunknown service manager %s\n' "$name" "$manager"
            ;;
    esac
done
