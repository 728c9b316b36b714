# A throwaway mosquitto on a free 127.0.0.1 port, for the demo and the shell tests. Source it:
#
#   . scripts/lib/broker.sh
#   broker_start "$scratch_dir" ["extra mosquitto.conf lines"]   # sets BROKER_PORT, BROKER_PID
#   ...  mosquitto_pub -p "$BROKER_PORT" ...
#   broker_stop                                                  # by PID; also on EXIT
#
# Only the loopback address is ever bound. The broker's log is "$scratch_dir/mosquitto.log".

BROKER_PORT=
BROKER_PID=
BROKER_DIR=

# Whether something accepts TCP connections on 127.0.0.1:$1 (bash's /dev/tcp, no extra tools).
broker_port_accepts() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

broker_start() {
  local dir=$1 extra=${2:-}
  local mosquitto
  mosquitto=$(command -v mosquitto || true)
  [[ -z $mosquitto && -x /usr/sbin/mosquitto ]] && mosquitto=/usr/sbin/mosquitto
  if [[ -z $mosquitto ]]; then
    echo "broker: mosquitto not found (Debian package: mosquitto)" >&2
    return 1
  fi
  mkdir -p "$dir"
  BROKER_DIR=$dir
  local attempt port
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    # A random high port that nothing answers on; mosquitto exits if another process takes
    # it first, and then the next attempt picks another.
    port=$((20000 + RANDOM % 40000))
    broker_port_accepts "$port" && continue
    {
      echo "listener $port 127.0.0.1"
      echo "allow_anonymous true"
      echo "persistence false"
      echo "log_dest file $dir/mosquitto.log"
      echo "log_type error"
      echo "log_type warning"
      echo "log_type notice"
      [[ -n $extra ]] && printf '%s\n' "$extra"
    } >"$dir/mosquitto.conf"
    "$mosquitto" -c "$dir/mosquitto.conf" >>"$dir/mosquitto.out" 2>&1 &
    BROKER_PID=$!
    local waited
    for waited in $(seq 1 100); do
      if broker_port_accepts "$port"; then
        BROKER_PORT=$port
        trap broker_stop EXIT
        return 0
      fi
      kill -0 "$BROKER_PID" 2>/dev/null || break
      sleep 0.05
    done
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=
  done
  echo "broker: mosquitto did not start; see $dir/mosquitto.log and $dir/mosquitto.out" >&2
  return 1
}

broker_stop() {
  [[ -n $BROKER_PID ]] || return 0
  kill "$BROKER_PID" 2>/dev/null || true
  local waited
  for waited in $(seq 1 50); do
    kill -0 "$BROKER_PID" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "$BROKER_PID" 2>/dev/null || true
  wait "$BROKER_PID" 2>/dev/null || true
  BROKER_PID=
}
