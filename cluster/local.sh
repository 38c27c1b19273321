#!/usr/bin/env bash
# cluster/local.sh up|down|status|kill NODE — a three-node HMA cluster on this
# machine: a gateway and two workers, each its own process on its own
# loopback address, with mutual TLS from a cluster CA made here.
#
#   gateway   mesh 127.0.0.1:7401, web IDE http://127.0.0.1:8080
#   worker-1  mesh 127.0.0.2:7402   projects under RUN/worker-1/projects
#   worker-2  mesh 127.0.0.3:7403   projects under RUN/worker-2/projects
#
# RUN (default /tmp/hma-local-cluster, or $HMA_CLUSTER_DIR) holds the CA,
# each node's certificate, data and log (RUN/logs/NODE.log) and pid file.
# `up` starts whatever is not running (so after `kill NODE` it brings NODE
# back) and prints the IDE's sign-in URL; `down` stops every node (SIGTERM:
# they leave the cluster gracefully) and keeps RUN, so the next `up` finds
# the same projects; `rm -rf RUN` after `down` starts afresh.
# Ports: HMA_CLUSTER_HTTP_PORT (8080), HMA_CLUSTER_MESH_PORT (7401; workers
# use the next two). Needs the bwrap sandbox: run as root, as `make dev`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
run=${HMA_CLUSTER_DIR:-/tmp/hma-local-cluster}
http_port=${HMA_CLUSTER_HTTP_PORT:-8080}
mesh_port=${HMA_CLUSTER_MESH_PORT:-7401}
hma="$repo/.build/debug/hma"
nodes=(gateway worker-1 worker-2)

address() { case "$1" in gateway) echo 127.0.0.1 ;; worker-1) echo 127.0.0.2 ;; worker-2) echo 127.0.0.3 ;; esac; }
port() { case "$1" in gateway) echo "$mesh_port" ;; worker-1) echo $((mesh_port + 1)) ;; worker-2) echo $((mesh_port + 2)) ;; esac; }
pid_of() { [ -f "$run/$1.pid" ] && cat "$run/$1.pid" || true; }
# Alive, and not a zombie: a node outlives this script, and whatever
# adopts it may never reap it once it has been killed.
alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
running() { local pid; pid=$(pid_of "$1"); [ -n "$pid" ] && alive "$pid"; }
known() { [[ " ${nodes[*]} " == *" $1 "* ]] || { echo "local.sh: unknown node '$1' (gateway, worker-1, worker-2)" >&2; exit 2; }; }

# Waits (at most 60 s) for a line matching $2 in node $1's log.
wait_for() {
  for _ in $(seq 600); do
    grep -q "$2" "$run/logs/$1.log" 2>/dev/null && return 0
    running "$1" || { echo "local.sh: $1 exited; its log:" >&2; tail -20 "$run/logs/$1.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "local.sh: $1 did not report '$2' within 60 s; see $run/logs/$1.log" >&2
  exit 1
}

certificates() {
  [ -f "$run/ca/ca.key" ] || "$hma" certs init --out "$run/ca" >/dev/null
  for node in "${nodes[@]}"; do
    [ -f "$run/certs/$node/node.pem" ] && continue
    role=worker; [ "$node" = gateway ] && role=gateway
    "$hma" certs issue "$node" --role "$role" --address "$(address "$node")" --ca "$run/ca" --out "$run/certs/$node" >/dev/null
  done
  [ -f "$run/certs/admin/node.pem" ] || "$hma" certs issue admin --role observer --ca "$run/ca" --out "$run/certs/admin" >/dev/null
}

# Runs a node in the background, in its own session, holding none of the
# descriptors this script was given besides its log (a caller reading our
# output through a pipe would otherwise wait for the nodes to end).
launch() {
  local log=$1; shift
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if [ "$fd" -gt 2 ] && [ "$fd" -ne 255 ]; then eval "exec $fd>&-"; fi
    done
    exec setsid "$@" </dev/null >>"$log" 2>&1
  ) &
}

start() {
  local node=$1 listen
  listen="$(address "$node"):$(port "$node")"
  : > "$run/logs/$node.log"
  if [ "$node" = gateway ]; then
    launch "$run/logs/$node.log" "$hma" gateway --name gateway --listen "$listen" --certs "$run/certs/gateway" \
      --http "127.0.0.1:$http_port" --data-dir "$run/gateway"
    echo $! > "$run/$node.pid"
    wait_for gateway "is running. Open http://"
  else
    launch "$run/logs/$node.log" "$hma" worker --name "$node" --listen "$listen" --join "$(address gateway):$(port gateway)" \
      --certs "$run/certs/$node" --data-dir "$run/$node"
    echo $! > "$run/$node.pid"
    wait_for "$node" "^member gateway up"
  fi
  echo "started $node (pid $(pid_of "$node"), mesh $listen)"
}

up() {
  [ -x "$hma" ] || make -C "$repo" build
  [ -f "$repo/frontend/dist/index.html" ] || make -C "$repo" frontend
  mkdir -p "$run/logs"
  certificates
  for node in "${nodes[@]}"; do running "$node" || start "$node"; done
  # A user for the browser: its token signs in (kept in RUN, 0600).
  if [ ! -f "$run/admin.token" ]; then
    token=$("$hma" users add admin --data-dir "$run/gateway" 2>/dev/null | sed -n 's/^token //p') \
      || token=$("$hma" users token admin --data-dir "$run/gateway" | sed -n 's/^token //p')
    (umask 077; echo "$token" > "$run/admin.token")
  fi
  echo "HMA local cluster is up: open http://127.0.0.1:$http_port/?token=$(cat "$run/admin.token")"
  echo "logs in $run/logs; cluster/local.sh status | kill NODE | down"
}

down() {
  for node in worker-2 worker-1 gateway; do
    running "$node" || continue
    pid=$(pid_of "$node")
    kill -TERM "$pid"
    for _ in $(seq 300); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL "$pid"; fi
    echo "stopped $node"
  done
  rm -f "$run"/*.pid
}

status() {
  for node in "${nodes[@]}"; do
    if running "$node"; then echo "$node: running (pid $(pid_of "$node"), mesh $(address "$node"):$(port "$node"))"
    else echo "$node: not running"; fi
  done
  running gateway && "$hma" status --node "$(address gateway):$(port gateway)" --certs "$run/certs/admin"
  return 0
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  kill)
    known "${2:-}"
    running "$2" || { echo "local.sh: $2 is not running" >&2; exit 1; }
    kill -KILL "$(pid_of "$2")"
    echo "killed $2 (SIGKILL); cluster/local.sh up starts it again"
    ;;
  *) echo "usage: cluster/local.sh up|down|status|kill NODE" >&2; exit 2 ;;
esac
