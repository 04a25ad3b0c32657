#!/usr/bin/env bash
# Runs KubeSphere's own web console (ks-console v3.4.1) against a ks-apiserver.
#
#   scripts/console.sh [--server URL] [--ca FILE] [--port PORT] [--rebuild]
#
# The first run clones kubesphere/console at a pinned commit into a cache
# directory, adapts it to a current Node (see below), installs its packages
# and builds it (about 10 minutes on 2 cores); later runs start it at once.
# It then serves the console on http://localhost:PORT, its server talking to
# ks-apiserver at URL.
#
# Options (and environment variables):
#   --server URL   ks-apiserver's address (KS_SERVER; default
#                  https://127.0.0.1:6443, the address ks-apiserver serves
#                  by default). For plain HTTP, start ks-apiserver with
#                  --plain-http (loopback only) and pass http://127.0.0.1:PORT.
#   --ca FILE      the CA certificate (PEM) of an https server (KS_CA;
#                  default DATA/pki/ca.crt of ks-apiserver's default data
#                  directory, which is what a plain `ks-apiserver` uses).
#   --port PORT    the console's port (KS_CONSOLE_PORT; default 8000).
#   --rebuild      install and build again.
#   --print-dir    print whether the console is built (`built` or
#                  `not-built`), a space and the cache directory, then exit.
#   KS_CONSOLE_REPO  where to clone from (default GitHub; a local mirror works)
#   KS_CONSOLE_DIR   the cache directory (default
#                    ${XDG_CACHE_HOME:-~/.cache}/ks-rs/console-<commit>)
#
# Needs git, Node.js 16 or later (20 tested) with npm, and the internet
# (GitHub and the npm registry) on the first run.
#
# Adaptations made to the checkout, none of them to what the console does:
#   - node-sass 4 (which does not build on current Node) is replaced by
#     sass ~1.32.13, which sass-loader 7 uses in its place;
#   - the lockfile's download addresses all point at registry.npmjs.org
#     (one points at registry.npm.taobao.org, which no longer exists, most
#     at registry.yarnpkg.com);
#   - `CYPRESS_INSTALL_BINARY=0`: the end-to-end test runner's binary is not
#     downloaded;
#   - `NODE_OPTIONS=--openssl-legacy-provider` for the build: webpack 4
#     hashes with MD4, which OpenSSL 3 only offers as a legacy algorithm;
#   - `server/local_config.yaml` points the console's server at ks-apiserver
#     (`server.apiServer.url`, `wsUrl`) and sets its port.
set -euo pipefail

# v3.4.1
readonly CONSOLE_COMMIT=7687bf79bb4b27bca857d967e5d418beacf8249c
readonly YARN=yarn@1.22.22

die() {
    echo "console.sh: $*" >&2
    exit 2
}

server=${KS_SERVER:-https://127.0.0.1:6443}
ca=${KS_CA:-}
port=${KS_CONSOLE_PORT:-8000}
rebuild=0
print_dir=0
while (($#)); do
    case $1 in
    --server) server=${2:?--server needs a URL}; shift 2 ;;
    --ca) ca=${2:?--ca needs a file}; shift 2 ;;
    --port) port=${2:?--port needs a number}; shift 2 ;;
    --rebuild) rebuild=1; shift ;;
    --print-dir) print_dir=1; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
    esac
done

dir=${KS_CONSOLE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/ks-rs/console-${CONSOLE_COMMIT:0:12}}
if ((print_dir)); then
    state=not-built
    [[ -f $dir/dist/.ks-rs-built ]] && state=built
    printf '%s %s\n' "$state" "$dir"
    exit 0
fi

case $server in
http://*) ws_server=ws://${server#http://} ;;
https://*) ws_server=wss://${server#https://} ;;
*) die "--server must be an http:// or https:// URL, not '$server'" ;;
esac
server=${server%/}
ws_server=${ws_server%/}
[[ $port =~ ^[0-9]+$ ]] || die "--port must be a number, not '$port'"

if [[ $server == https://* ]]; then
    if [[ -z $ca ]]; then
        data_home=${XDG_DATA_HOME:-$HOME/.local/share}
        ca=$data_home/ks-rs/pki/ca.crt
    fi
    [[ -r $ca ]] || die "no CA certificate at $ca: pass --ca DATA/pki/ca.crt (ks-apiserver's data directory), or run ks-apiserver with --plain-http and --server http://..."
fi

command -v git >/dev/null || die "git is needed"
command -v node >/dev/null || die "Node.js (16 or later) is needed"
command -v npm >/dev/null || die "npm is needed"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 16)) || die "Node.js 16 or later is needed (found $(node --version))"

repo=${KS_CONSOLE_REPO:-https://github.com/kubesphere/console.git}

if [[ ! -d $dir/.git ]]; then
    echo "==> cloning the console ($CONSOLE_COMMIT) into $dir"
    mkdir -p "$(dirname "$dir")"
    rm -rf "$dir.partial"
    git clone --quiet --no-checkout "$repo" "$dir.partial"
    git -C "$dir.partial" checkout --quiet "$CONSOLE_COMMIT"
    mv "$dir.partial" "$dir"
fi
cd "$dir"
[[ $(git rev-parse HEAD) == "$CONSOLE_COMMIT" ]] || die "$dir is not at $CONSOLE_COMMIT: remove it or set KS_CONSOLE_DIR"

yarn() { npx --yes "$YARN" "$@"; }

if ((rebuild)) || [[ ! -f dist/.ks-rs-built ]]; then
    echo "==> adapting package.json (node-sass -> sass ~1.32.13)"
    git checkout --quiet -- package.json yarn.lock
    node -e '
        const fs = require("fs");
        const pkg = JSON.parse(fs.readFileSync("package.json", "utf8"));
        for (const deps of [pkg.dependencies, pkg.devDependencies]) {
            if (deps && deps["node-sass"]) { delete deps["node-sass"]; deps["sass"] = "~1.32.13"; }
        }
        fs.writeFileSync("package.json", JSON.stringify(pkg, null, 2) + "\n");'
    # The mirror's tarball paths are `NAME/download/[@SCOPE/]FILE`, npm's `NAME/-/FILE`.
    sed -i -E \
        -e 's#https://registry\.npm\.taobao\.org/(@[^/]+/[^/]+)/download/@[^/]+/#https://registry.npmjs.org/\1/-/#' \
        -e 's#https://registry\.npm\.taobao\.org/([^/@][^/]*)/download/#https://registry.npmjs.org/\1/-/#' \
        -e 's#https://registry\.yarnpkg\.com/#https://registry.npmjs.org/#' yarn.lock
    echo "==> installing packages (yarn $YARN)"
    CYPRESS_INSTALL_BINARY=0 yarn install --non-interactive --network-timeout 600000
    echo "==> building (several minutes)"
    NODE_OPTIONS=--openssl-legacy-provider yarn build
    touch dist/.ks-rs-built
fi

echo "==> pointing the console at $server"
cat >server/local_config.yaml <<YAML
# Written by ks-rs scripts/console.sh.
server:
  http:
    port: $port
  apiServer:
    url: $server
    wsUrl: $ws_server
YAML

extra_ca=()
if [[ $server == https://* ]]; then
    extra_ca=(NODE_EXTRA_CA_CERTS="$ca")
fi
echo "==> KubeSphere's console: http://localhost:$port (log in as admin; ks-apiserver's DATA/admin-password holds the password)"
exec env "${extra_ca[@]}" NODE_ENV=production node dist/server.js
