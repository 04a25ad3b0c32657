#!/usr/bin/env bash
# Browser test: KubeSphere's own console (ks-console v3.4.1, built by
# scripts/console.sh) in headless Chromium against a fresh ks-apiserver.
#
#   scripts/console-e2e.sh [--workspaces N] [--https] [--token-max-age D]
#                          [--out DIR] [--record FILE]
#
# Skips (exit 0, with a message saying why) when no console build is
# present: building one needs the internet, which CI does not have. Run
# scripts/console.sh once to build it.
#
# What it does (scripts/console-e2e.js holds the steps):
#   - starts ks-apiserver on a temporary data directory, plain HTTP on
#     loopback (HTTPS with --https, the console trusting its CA as
#     scripts/console.sh --ca does), with its audit log at level Request:
#     the record of every request that reached it, from the browser and
#     from the console's own Node server alike, with their timings;
#   - creates N workspaces (default 1,000) and a user `member` who belongs
#     to 10 of them;
#   - starts the console against it and, in Chromium, logs in as admin and
#     as the member, visits the dashboard, the workspace list, a
#     workspace's overview, members and projects, and creates a workspace,
#     a project in it and adds the member; then, for each of the two,
#     makes the console's server refresh the token (by moving its `expire`
#     cookie within the ten minutes in which it refreshes) and checks the
#     user stays logged in with the new token;
#   - fails on a JavaScript error in any page, on a request the console
#     makes that ks-apiserver answers with 401 or 5xx, on a password in
#     ks-apiserver's log or audit log, and when the member sees a
#     workspace or project they do not belong to.
#
# Options:
#   --workspaces N  workspaces to create before logging in (default 1000)
#   --https         ks-apiserver serves HTTPS (its own CA), as it does by
#                   default; the console and the seeding trust that CA
#   --token-max-age D  access tokens live D (accessTokenMaxAge, e.g. 603s;
#                   default 2h). The console's server refreshes a token
#                   that expires within ten minutes and answers the request
#                   that triggered it with a redirect, so the request is
#                   lost (a write too); 603s makes that happen about every
#                   3 s of the walk and steps fail at random: for watching
#                   the console under refresh storms, not for CI (under
#                   600s it refreshes on every request it serves)
#   --out DIR       where screenshots, timings.json, requests.json and the
#                   logs go (default: a new directory under /tmp, printed)
#   --record FILE   also write the requests the console made (method, path,
#                   query, body of writes, status, origin) to FILE: this is
#                   how crates/ks-apiserver/tests/data/console-v3.4.1-requests.json
#                   is refreshed
# Environment:
#   KS_APISERVER    the ks-apiserver binary (default: built with
#                   `cargo build --release -p ks-apiserver`)
#   KS_CHROMIUM     the Chromium binary (default /usr/bin/chromium; Debian's
#                   `chromium` package, installed when missing and root)
#   KS_CONSOLE_DIR  as for scripts/console.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORKSPACE=$(cd "$HERE/.." && pwd)

say() { printf '%s\n' "$*"; }
die() {
    say "console-e2e.sh: $*" >&2
    exit 1
}

workspaces=1000
https=0
token_max_age=
out=
record=
while (($#)); do
    case $1 in
    --workspaces) workspaces=${2:?--workspaces needs a number}; shift 2 ;;
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --record) record=${2:?--record needs a file}; shift 2 ;;
    --https) https=1; shift ;;
    --token-max-age) token_max_age=${2:?--token-max-age needs a duration}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
done
[[ $workspaces =~ ^[0-9]+$ ]] && ((workspaces >= 10)) || die "--workspaces must be a number of at least 10"

read -r state console_dir < <("$HERE/console.sh" --print-dir)
if [[ $state != built ]]; then
    say "console-e2e.sh: skipped: no console build in $console_dir (scripts/console.sh builds one; it needs GitHub and the npm registry)"
    exit 0
fi

command -v node >/dev/null || die "Node.js is needed"
chromium=${KS_CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $chromium ]]; then
    [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null ||
        die "no Chromium at $chromium: install Debian's chromium package or set KS_CHROMIUM"
    say "==> installing Debian's chromium"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

modules=${XDG_CACHE_HOME:-$HOME/.cache}/ks-rs/console-e2e
if [[ ! -d $modules/node_modules/playwright-core ]]; then
    say "==> installing playwright-core into $modules"
    mkdir -p "$modules"
    npm install --prefix "$modules" --no-audit --no-fund --silent playwright-core@1 >/dev/null
fi

bin=${KS_APISERVER:-}
if [[ -z $bin ]]; then
    say "==> building ks-apiserver (release)"
    (cd "$WORKSPACE" && cargo build --release --quiet -p ks-apiserver --bin ks-apiserver)
    target=$(cd "$WORKSPACE" && cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    bin=$target/release/ks-apiserver
fi
[[ -x $bin ]] || die "no ks-apiserver binary at $bin"

[[ -n $out ]] || out=$(mktemp -d "${TMPDIR:-/tmp}/ks-console-e2e.XXXXXX")
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ks-console-e2e-data.XXXXXX")
server_pid=
console_pid=

stop() { # PID
    [[ -n $1 ]] && kill -0 "$1" 2>/dev/null || return 0
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$1" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    # The console runs under `exec`: its process group has the Node server.
    [[ -n $console_pid ]] && kill -TERM -- "-$console_pid" 2>/dev/null
    stop "$console_pid"
    stop "$server_pid"
    rm -rf "$tmp"
    say "artifacts: $out"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

api_port=$(free_port)
say "==> starting ks-apiserver on 127.0.0.1:$api_port (log $out/ks-apiserver.log)"
scheme=http
transport=(--plain-http)
ca_args=()
if ((https)); then
    scheme=https
    transport=()
    ca_args=(--cacert "$tmp/data/pki/ca.crt")
fi
api_url=$scheme://127.0.0.1:$api_port
config=()
if [[ -n $token_max_age ]]; then
    [[ $token_max_age =~ ^[0-9]+[smh]$ ]] || die "--token-max-age takes a number and s, m or h, not '$token_max_age'"
    printf 'authentication:\n  oauthOptions:\n    accessTokenMaxAge: %s\n' "$token_max_age" >"$tmp/kubesphere.yaml"
    config=(--config "$tmp/kubesphere.yaml")
fi
NO_COLOR=1 "$bin" --data-dir "$tmp/data" --listen "127.0.0.1:$api_port" "${transport[@]}" "${config[@]}" \
    --audit-log-path "$out/audit.log" --audit-level Request >"$out/ks-apiserver.log" 2>&1 &
server_pid=$!
for _ in $(seq 150); do
    kill -0 "$server_pid" 2>/dev/null || die "ks-apiserver exited during start-up (see $out/ks-apiserver.log)"
    [[ -r $tmp/data/pki/ca.crt || $https -eq 0 ]] &&
        [[ $(curl -s "${ca_args[@]}" "$api_url/readyz" 2>/dev/null) == ok ]] && break
    sleep 0.2
done
[[ $(curl -s "${ca_args[@]}" "$api_url/readyz") == ok ]] || die "ks-apiserver did not become ready"

console_port=$(free_port)
say "==> starting the console on 127.0.0.1:$console_port (log $out/console.log)"
console_ca=()
((https)) && console_ca=(--ca "$tmp/data/pki/ca.crt")
setsid "$HERE/console.sh" --server "$api_url" "${console_ca[@]}" --port "$console_port" >"$out/console.log" 2>&1 &
console_pid=$!
for _ in $(seq 300); do
    kill -0 "$console_pid" 2>/dev/null || die "the console exited during start-up (see $out/console.log)"
    curl -sf -o /dev/null "http://127.0.0.1:$console_port/login" && break
    sleep 0.2
done
curl -sf -o /dev/null "http://127.0.0.1:$console_port/login" || die "the console did not answer within 60 s"

say "==> running the browser steps"
((https)) && export NODE_EXTRA_CA_CERTS=$tmp/data/pki/ca.crt
KS_API_URL=$api_url \
    KS_CONSOLE_URL=http://127.0.0.1:$console_port \
    KS_ADMIN_PASSWORD_FILE=$tmp/data/admin-password \
    KS_AUDIT_LOG=$out/audit.log \
    KS_E2E_OUT=$out \
    KS_E2E_RECORD=$record \
    KS_E2E_WORKSPACES=$workspaces \
    KS_CHROMIUM=$chromium \
    NODE_PATH=$modules/node_modules \
    node "$HERE/console-e2e.js"
