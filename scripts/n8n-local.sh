#!/usr/bin/env bash
# A local n8n 1.123.x for opsdeck's live n8n tests and for trying the n8n integration by hand.
# `.ci/run` runs `install` (a few minutes and ~1.4 GB the first time, then skipped), which
# tests/n8n_queue.rs uses to start its own main and worker in queue mode; tests/n8n_live.rs
# needs `up` (an owner, an API key, the test workflows) and is not part of CI.
#
#   scripts/n8n-local.sh install     # npm install n8n 1.123.x into $N8N_LOCAL_DIR
#   scripts/n8n-local.sh start       # start it on 127.0.0.1:$N8N_PORT (background), wait for /healthz
#   scripts/n8n-local.sh bootstrap   # owner, login, API key, test workflows; prints the exports
#   scripts/n8n-local.sh up          # all three (idempotent: skips what is already done)
#   scripts/n8n-local.sh env         # print the exports again
#   scripts/n8n-local.sh stop        # stop the n8n started by `start`
#
# Then:  eval "$(scripts/n8n-local.sh env)" && cargo test --test n8n_live -- --nocapture
#
# Why the pins: n8n 2.x needs Node 24, so 1.123.x (runs on Node 20). npm overrides:
#   xlsx -> 0.18.5 (the version n8n pins is a tarball URL that is unreachable here),
#   isolated-vm -> 5.0.4 (6.x needs Node 22), @langchain/langgraph-checkpoint -> 1.0.0
#   (peer range conflict); installed with --legacy-peer-deps.
#
# Environment (all optional):
#   N8N_LOCAL_DIR   where n8n and its data live (default: ~/.local/share/opsdeck-n8n)
#   N8N_PORT        port (default 5678); n8n listens on 127.0.0.1 only
#   N8N_VERSION     npm version range (default ~1.123.0)
#   N8N_OWNER_EMAIL / N8N_OWNER_PASSWORD   the local owner (defaults below; local use only)
#
# The API key is written to $N8N_LOCAL_DIR/api-key (mode 600) and printed only by `env`/`up`.
set -euo pipefail

DIR="${N8N_LOCAL_DIR:-$HOME/.local/share/opsdeck-n8n}"
PORT="${N8N_PORT:-5678}"
VERSION="${N8N_VERSION:-~1.123.0}"
EMAIL="${N8N_OWNER_EMAIL:-ops@opsdeck.local}"
PASSWORD="${N8N_OWNER_PASSWORD:-Opsdeck-local-1}"
BASE="http://127.0.0.1:$PORT"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WORKFLOWS="$HERE/n8n-test-workflows"

log() { echo "n8n-local: $*" >&2; }
die() { echo "n8n-local: error: $*" >&2; exit 1; }

need() { command -v "$1" >/dev/null || die "$1 not found (needs: node 20+, npm, curl)"; }

install() {
    need node; need npm
    local major; major="$(node -p 'process.versions.node.split(".")[0]')"
    [ "$major" -ge 20 ] || die "node $major is too old: n8n 1.123 needs node 20+"
    if [ -x "$DIR/app/node_modules/.bin/n8n" ]; then
        log "already installed: $("$DIR/app/node_modules/.bin/n8n" --version 2>/dev/null || echo '?') in $DIR/app"
        return
    fi
    mkdir -p "$DIR/app"
    cat >"$DIR/app/package.json" <<EOF
{
  "name": "opsdeck-n8n-local",
  "private": true,
  "dependencies": { "n8n": "$VERSION" },
  "overrides": {
    "xlsx": "0.18.5",
    "isolated-vm": "5.0.4",
    "@langchain/langgraph-checkpoint": "1.0.0"
  }
}
EOF
    log "installing n8n $VERSION into $DIR/app (a few minutes, ~1.4 GB)…"
    (cd "$DIR/app" && npm install --legacy-peer-deps --no-audit --no-fund --loglevel=error)
    log "installed: $("$DIR/app/node_modules/.bin/n8n" --version)"
}

# /healthz answers as soon as the process listens; /healthz/readiness only once the database is
# migrated and the REST API serves (until then n8n answers 503 "n8n is starting up").
healthy() { curl -fsS -m 2 "$BASE/healthz/readiness" >/dev/null 2>&1; }

start() {
    [ -x "$DIR/app/node_modules/.bin/n8n" ] || die "not installed: run '$0 install' first"
    if healthy; then log "already up at $BASE"; return; fi
    mkdir -p "$DIR/data"
    log "starting n8n on $BASE (log: $DIR/n8n.log)…"
    (
        cd "$DIR"
        export N8N_USER_FOLDER="$DIR/data" N8N_PORT="$PORT" N8N_LISTEN_ADDRESS=127.0.0.1 \
            N8N_HOST=127.0.0.1 N8N_PROTOCOL=http N8N_SECURE_COOKIE=false \
            N8N_DIAGNOSTICS_ENABLED=false N8N_VERSION_NOTIFICATIONS_ENABLED=false \
            N8N_TEMPLATES_ENABLED=false N8N_PERSONALIZATION_ENABLED=false \
            N8N_HIRING_BANNER_ENABLED=false N8N_METRICS=true N8N_PUBLIC_API_DISABLED=false \
            N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS=true N8N_RUNNERS_ENABLED=false \
            DB_SQLITE_POOL_SIZE=2 EXECUTIONS_MODE=regular
        nohup "$DIR/app/node_modules/.bin/n8n" start >"$DIR/n8n.log" 2>&1 &
        echo $! >"$DIR/n8n.pid"
    )
    for _ in $(seq 1 600); do
        if healthy; then log "up at $BASE (pid $(cat "$DIR/n8n.pid"))"; return; fi
        kill -0 "$(cat "$DIR/n8n.pid")" 2>/dev/null || { tail -20 "$DIR/n8n.log" >&2; die "n8n exited"; }
        sleep 1
    done
    die "n8n was not ready within 600 s (see $DIR/n8n.log; the first start runs migrations)"
}

stop() {
    if [ -f "$DIR/n8n.pid" ] && kill -0 "$(cat "$DIR/n8n.pid")" 2>/dev/null; then
        kill "$(cat "$DIR/n8n.pid")" && log "stopped pid $(cat "$DIR/n8n.pid")"
        rm -f "$DIR/n8n.pid"
    else
        log "not running (no live pid in $DIR/n8n.pid)"
    fi
}

# curl wrapper: prints the body, fails on HTTP >= 400 with the body on stderr.
call() {
    local method="$1" path="$2" body="${3:-}"; shift 3 || true
    local out code
    out="$(mktemp)"
    code="$(curl -sS -o "$out" -w '%{http_code}' -X "$method" "$BASE$path" \
        -H 'Content-Type: application/json' -b "$DIR/cookies" -c "$DIR/cookies" \
        ${body:+--data "$body"} "$@")" || { rm -f "$out"; die "$method $path: cannot connect"; }
    if [ "$code" -ge 400 ]; then
        echo "$method $path -> HTTP $code: $(cat "$out")" >&2
        rm -f "$out"
        return 1
    fi
    cat "$out"; rm -f "$out"
}

json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{let v=JSON.parse(s);for(const k of process.argv[1].split("."))v=v?.[k];process.stdout.write(v==null?"":String(v))})' "$1"; }

key_works() {
    [ -s "$DIR/api-key" ] || return 1
    curl -fsS -m 5 -o /dev/null -H "X-N8N-API-KEY: $(cat "$DIR/api-key")" "$BASE/api/v1/workflows?limit=1"
}

bootstrap() {
    healthy || die "n8n is not up at $BASE: run '$0 start' first"
    rm -f "$DIR/cookies"
    if call POST /rest/owner/setup "{\"email\":\"$EMAIL\",\"firstName\":\"Ops\",\"lastName\":\"Deck\",\"password\":\"$PASSWORD\"}" >/dev/null 2>"$DIR/setup.err"; then
        log "owner $EMAIL created"
    else
        log "owner setup skipped ($(head -c 200 "$DIR/setup.err"))"
    fi
    # 1.123 reads emailOrLdapLoginId; older 1.x read email: send both
    call POST /rest/login "{\"email\":\"$EMAIL\",\"emailOrLdapLoginId\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" >/dev/null \
        || die "login as $EMAIL failed"
    log "logged in"
    if key_works; then
        log "API key in $DIR/api-key still works"
    else
        local scopes='["workflow:create","workflow:read","workflow:list","workflow:update","workflow:delete","workflow:activate","workflow:deactivate","execution:list","execution:read","execution:retry","execution:delete"]'
        local resp
        resp="$(call POST /rest/api-keys "{\"label\":\"opsdeck-local-$(date +%s)\",\"expiresAt\":null,\"scopes\":$scopes}")" \
            || die "creating the API key failed"
        (umask 077; printf '%s' "$resp" | json_field data.rawApiKey >"$DIR/api-key")
        [ -s "$DIR/api-key" ] || die "no rawApiKey in the /rest/api-keys answer"
        log "API key created ($DIR/api-key)"
    fi
    local key; key="$(cat "$DIR/api-key")"
    for f in "$WORKFLOWS"/*.json; do
        local name; name="$(json_field name <"$f")"
        local existing
        existing="$(curl -fsS -H "X-N8N-API-KEY: $key" "$BASE/api/v1/workflows?limit=250&name=$(node -p 'encodeURIComponent(process.argv[1])' "$name")" | json_field data.0.id)"
        if [ -n "$existing" ]; then
            log "workflow '$name' already imported (id $existing)"
            continue
        fi
        local id
        id="$(curl -fsS -X POST -H "X-N8N-API-KEY: $key" -H 'Content-Type: application/json' \
            --data @"$f" "$BASE/api/v1/workflows" | json_field id)" || die "importing $f failed"
        log "imported '$name' (id $id)"
        curl -fsS -X POST -H "X-N8N-API-KEY: $key" "$BASE/api/v1/workflows/$id/activate" >/dev/null \
            && log "activated '$name'"
    done
}

env_out() {
    [ -s "$DIR/api-key" ] || die "no API key yet: run '$0 bootstrap'"
    echo "export N8N_URL=$BASE"
    echo "export N8N_API_KEY=$(cat "$DIR/api-key")"
}

case "${1:-up}" in
    install) install ;;
    start) start ;;
    stop) stop ;;
    bootstrap) bootstrap; env_out ;;
    env) env_out ;;
    up) install; start; bootstrap; env_out ;;
    *) sed -n '2,26p' "$0"; exit 2 ;;
esac
