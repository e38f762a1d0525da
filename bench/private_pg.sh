# Sourced by bench/run_http_bench.sh and bench/run_all.sh: a private PostgreSQL (Debian's, default
# settings) in a temporary directory on a free loopback port, owned by an unprivileged user.
#
#   source bench/private_pg.sh
#   private_pg_start on|off      # fsync; sets PGBIN, PGPORT, PGROOT, PG_PID; prints where it runs
#   trap private_pg_stop EXIT    # stops it and removes the directory
#   "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U mediation NAME
#
# Extra server settings can be given after the fsync value: private_pg_start off -c jit=off

private_pg_start() {
  local fsync=$1; shift
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  PGPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  PGROOT=$(mktemp -d /tmp/mediation-bench-pg.XXXXXX)
  PG_RUN_AS=()
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres:postgres "$PGROOT"
    PG_RUN_AS=(runuser -u postgres --)
  fi
  "${PG_RUN_AS[@]}" "$PGBIN/initdb" -D "$PGROOT/data" -U mediation --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  local opts="-k $PGROOT -h 127.0.0.1 -p $PGPORT"
  [[ $fsync == off ]] && opts+=" -c fsync=off"
  (($#)) && opts+=" $*"
  "${PG_RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -l "$PGROOT/log" -w -o "$opts" start >/dev/null
  PG_PID=$(head -n 1 "$PGROOT/data/postmaster.pid")
  echo "private PostgreSQL on 127.0.0.1:$PGPORT (fsync=$fsync), data in $PGROOT"
}

private_pg_stop() {
  [[ -n ${PGROOT:-} ]] || return 0
  "${PG_RUN_AS[@]}" "$PGBIN/pg_ctl" -D "$PGROOT/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$PGROOT"
}
