#!/usr/bin/env bash
# End-to-end test: real kubectl against a real ks-apiserver.
#
# Usage: tests/e2e/kubectl.sh [PATH_TO_KS_APISERVER_BINARY]
#
# Without an argument the binary is built with `cargo build -p ks-apiserver`
# (honouring CARGO_TARGET_DIR). The server runs on a free loopback port with
# a fresh, durable data directory over HTTPS, and every step talks to it with
# `kubectl --kubeconfig DATA/kubeconfig`.
#
# Each step runs in its own subshell under `set -e`: the first failing
# command or assertion ends that step. Every step runs even when an earlier
# one failed (so one run reports all failures); the script exits non-zero
# if any step failed, listing them, with the tail of the server log.
#
# Environment:
#   KUBECTL         kubectl to use (default: `kubectl` from PATH; installed
#                   from the Debian package `kubernetes-client` if absent)
#   EXTRA_KUBECTLS  kubectls for the reduced smoke test (default: the
#                   1.27 and 1.33 binaries of the Google Cloud SDK, when present)
#   KEEP_DATA=1     keep the temporary directory (server log, data dir)

set -euo pipefail
shopt -s inherit_errexit

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORKSPACE=$(cd "$HERE/../../../.." && pwd)
MANIFEST=$HERE/manifests/kubesphere.yaml
# Objects in the manifest; each apply must print one line per object.
MANIFEST_OBJECTS=12
NS=e2e-project   # the namespace in the manifest
NS2=e2e-created  # the namespace `kubectl create ns` makes

say() { printf '%s\n' "$*"; }
die() {
    say "kubectl.sh: $*" >&2
    exit 1
}

# ---------------------------------------------------------------- setup --

BIN=${1:-}
if [[ -z $BIN ]]; then
    say "==> building ks-apiserver"
    (cd "$WORKSPACE" && cargo build -p ks-apiserver)
    TARGET_DIR=$(cd "$WORKSPACE" && cargo metadata --format-version 1 --no-deps |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
    BIN=$TARGET_DIR/debug/ks-apiserver
fi
[[ -x $BIN ]] || die "no ks-apiserver binary at $BIN"

KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
    say "==> $KUBECTL not found: installing the Debian package kubernetes-client"
    SUDO=
    [[ $(id -u) -eq 0 ]] || SUDO=sudo
    if command -v apt-get >/dev/null 2>&1 &&
        $SUDO apt-get update -qq &&
        $SUDO apt-get install -y -qq kubernetes-client; then
        KUBECTL=kubectl
    fi
    command -v "$KUBECTL" >/dev/null 2>&1 ||
        die "kubectl is required: install it (e.g. apt-get install kubernetes-client) or set KUBECTL"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ks-e2e-kubectl.XXXXXX")
DATA=$TMP/data
LOG=$TMP/server.log
KUBECONFIG_FILE=$DATA/kubeconfig
SERVER_PID=

server_log_tail() {
    say "---- last 40 lines of the server log ($LOG) ----" >&2
    tail -n 40 "$LOG" >&2 2>/dev/null || true
    say "----" >&2
}

cleanup() {
    local rc=$?
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    if [[ $rc -ne 0 ]]; then
        server_log_tail
    fi
    if [[ ${KEEP_DATA:-0} == 1 ]]; then
        say "kept $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "==> starting $BIN (data dir $DATA)"
NO_COLOR=1 "$BIN" --data-dir "$DATA" --listen 127.0.0.1:0 >"$LOG" 2>&1 &
SERVER_PID=$!

# The kubeconfig (with the bound port) is written right after binding.
ready=
for _ in $(seq 150); do
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server exited during start-up"
    if [[ -s $KUBECONFIG_FILE ]] &&
        [[ $(timeout 5 "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" --cache-dir "$TMP/cache" \
            get --raw /readyz 2>/dev/null) == ok ]]; then
        ready=1
        break
    fi
    sleep 0.2
done
[[ -n $ready ]] || die "the server did not answer /readyz with ok within 30 s"
SERVER_URL=$(sed -n 's/^ *server: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$KUBECONFIG_FILE")
say "    serving at $SERVER_URL"

# ------------------------------------------------------------- helpers --

# kubectl against the server, bounded in time.
k() {
    timeout 30 "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" --cache-dir "$TMP/cache" "$@"
}

fail() {
    say "    FAIL: $*" >&2
    exit 1
}

expect_eq() { # ACTUAL EXPECTED WHAT
    [[ $1 == "$2" ]] || fail "$3: expected '$2', got '$1'"
}

expect_contains() { # HAYSTACK NEEDLE WHAT
    [[ $1 == *"$2"* ]] || fail "$3: expected to contain '$2', got:
$1"
}

expect_not_contains() { # HAYSTACK NEEDLE WHAT
    [[ $1 != *"$2"* ]] || fail "$3: expected not to contain '$2', got:
$1"
}

# jsonpath of an object: jp EXPECTED WHAT... (WHAT: kubectl get arguments
# ending in the jsonpath template)
jp() {
    local expected=$1
    shift
    local got
    got=$(k get "${@:1:$#-1}" -o "jsonpath=${*: -1}")
    expect_eq "$got" "$expected" "kubectl get ${*:1:$#-1} -o jsonpath=${*: -1}"
}

# The first line of a table with runs of spaces squeezed.
header() { head -n 1 <<<"$1" | tr -s ' ' | sed 's/ *$//'; }

# The table row whose first column is NAME, spaces squeezed.
row() { awk -v n="$2" '$1 == n' <<<"$1" | tr -s ' ' | sed 's/ *$//'; }

# A command that must fail; prints its combined output.
must_fail() {
    local out
    if out=$("$@" 2>&1); then
        fail "expected '$*' to fail, it succeeded with:
$out"
    fi
    printf '%s' "$out"
}

# Succeeds when `kubectl get ARGS...` fails with NotFound.
gone() {
    local out
    if out=$(k get "$@" 2>&1); then
        return 1
    fi
    [[ $out == *NotFound* ]]
}

# Polls COMMAND until it succeeds, for up to SECONDS.
eventually() { # SECONDS COMMAND...
    local deadline=$((SECONDS + $1))
    shift
    until "$@" >/dev/null 2>&1; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

FAILED=()
step() { # DESCRIPTION FUNCTION
    say "==> $1"
    local rc
    set +e
    (
        set -e
        "$2"
    )
    rc=$?
    set -e
    if [[ $rc -ne 0 ]]; then
        say "    step failed: $1" >&2
        FAILED+=("$1")
    fi
}

# --------------------------------------------------------------- steps --

raw_endpoints() {
    local out
    out=$(k get --raw /version)
    expect_contains "$out" '"gitVersion"' "/version"
    expect_contains "$out" '"major"' "/version"
    out=$(k get --raw /apis)
    expect_contains "$out" '"kind":"APIGroupList"' "/apis"
    expect_contains "$out" '"name":"iam.kubesphere.io"' "/apis"
    expect_contains "$out" '"name":"tenant.kubesphere.io"' "/apis"
    expect_contains "$out" '"name":"rbac.authorization.k8s.io"' "/apis"
    expect_eq "$(k get --raw /healthz)" ok "/healthz"
    expect_eq "$(k get --raw /readyz)" ok "/readyz"
    if command -v curl >/dev/null 2>&1; then
        # The generated CA in DATA/pki verifies the server certificate.
        expect_eq "$(curl -sS --max-time 10 --cacert "$DATA/pki/ca.crt" "$SERVER_URL/readyz")" ok \
            "curl --cacert pki/ca.crt /readyz"
    fi
}

# The URL paths a kubectl run requested, sorted and on one line, read from
# its -v=6 log (both the 1.27 and the 1.30+ log formats carry the URL).
requested_paths() { # LOG
    grep -oE 'https://[^ "?]+' <<<"$1" | sed -E 's#^https://[^/]+##' | sort -u | tr '\n' ' '
}

api_resources() {
    local out
    # A cold cache: discovery is two aggregated documents, /api and /apis,
    # with no per-group-version request.
    out=$(timeout 30 "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" --cache-dir "$TMP/cache-cold" \
        api-resources -o name -v=6 2>&1 >/dev/null) || fail "api-resources -v=6: $out"
    expect_eq "$(requested_paths "$out")" "/api /apis " "api-resources (cold cache): requests"
    out=$(k api-resources -o name)
    for name in users.iam.kubesphere.io configmaps workspacetemplates.tenant.kubesphere.io \
        roles.rbac.authorization.k8s.io; do
        grep -qx "$name" <<<"$out" || fail "api-resources -o name: no line '$name' in:
$out"
    done
    out=$(k api-resources)
    expect_eq "$(header "$out")" "NAME SHORTNAMES APIVERSION NAMESPACED KIND" "api-resources header"
    expect_eq "$(row "$out" users)" "users iam.kubesphere.io/v1alpha2 false User" "api-resources users row"
    expect_eq "$(row "$out" configmaps)" "configmaps cm v1 true ConfigMap" "api-resources configmaps row"
    # Two event resources; only core's has the short name `ev`.
    expect_contains "$(row "$out" events)" "events ev v1 true Event" "api-resources core events row"
    expect_contains "$(row "$out" events)" "events events.k8s.io/v1 true Event" "api-resources events.k8s.io row"
    out=$(k api-resources --api-group=iam.kubesphere.io -o name)
    expect_contains "$out" "globalroles.iam.kubesphere.io" "api-resources --api-group"
    expect_not_contains "$out" "configmaps" "api-resources --api-group"
}

apply_manifest() {
    local out n
    out=$(k apply -f "$MANIFEST")
    say "$out" | sed 's/^/    /'
    n=$(grep -ci ' created$' <<<"$out" || true)
    expect_eq "$n" "$MANIFEST_OBJECTS" "objects created by the first apply"
    # The user is printed as user.iam.kubesphere.io/alice.
    expect_contains "${out,,}" "user.iam.kubesphere.io/alice created" "first apply"
    expect_contains "$out" "namespace/$NS created" "first apply"
}

reapply_manifest() {
    local out n
    out=$(k apply -f "$MANIFEST")
    n=$(grep -c ' unchanged$' <<<"$out" || true)
    [[ $n == "$MANIFEST_OBJECTS" ]] || fail "second apply: expected $MANIFEST_OBJECTS 'unchanged' lines, got:
$out"
    # Nothing to change: kubectl diff (server-side dry run) finds no difference.
    out=$(k diff -f "$MANIFEST" 2>&1) || fail "kubectl diff -f after apply: expected no difference (exit 0), got:
$out"
}

get_yaml() {
    local out
    out=$(k get user alice -o yaml)
    expect_contains "$out" "apiVersion: iam.kubesphere.io/v1alpha2" "get user -o yaml"
    expect_contains "$out" "kind: User" "get user -o yaml"
    expect_contains "$out" "email: alice@example.com" "get user -o yaml"
    expect_contains "$out" "displayName: Alice Liddell" "get user -o yaml"
    expect_contains "$out" "resourceVersion:" "get user -o yaml"
    expect_contains "$out" "uid:" "get user -o yaml"
    expect_contains "$out" "creationTimestamp:" "get user -o yaml"
    jp alice@example.com user alice '{.spec.email}'
    jp en user alice '{.spec.lang}'
    jp "workspace manager" user alice '{.spec.description}'
    jp admin user alice '{.metadata.annotations.kubesphere\.io/creator}'
    jp kubectl user alice '{.metadata.labels.e2e}'
    jp "get list watch" globalrole e2e-platform-viewer '{.rules[0].verbs[*]}'
    jp "users globalroles" globalrole e2e-platform-viewer '{.rules[0].resources[*]}'
    jp "GlobalRole/e2e-platform-viewer" globalrolebinding alice-platform-viewer '{.roleRef.kind}/{.roleRef.name}'
    jp "User/alice" globalrolebinding alice-platform-viewer '{.subjects[0].kind}/{.subjects[0].name}'
    jp alice workspacetemplate e2e-ws '{.spec.template.spec.manager}'
    jp wonderland workspacetemplate e2e-ws '{.spec.template.metadata.labels.team}'
    jp alice workspace e2e-ws-standalone '{.spec.manager}'
    jp "*" workspacerole e2e-ws-auditor '{.rules[0].verbs[0]}'
    jp "Workspace auditor" workspacerole e2e-ws-auditor '{.metadata.annotations.kubesphere\.io/alias-name}'
    jp "WorkspaceRole/e2e-ws-admin" workspacerolebinding alice-e2e-ws-admin '{.roleRef.kind}/{.roleRef.name}'
    jp e2e-ws namespace "$NS" '{.metadata.labels.kubesphere\.io/workspace}'
    jp Active namespace "$NS" '{.status.phase}'
    jp production cm app-config -n "$NS" '{.data.mode}'
    jp 3 cm app-config -n "$NS" '{.data.replicas}'
    jp czNjcjN0 secret app-secret -n "$NS" '{.data.password}'
    jp Opaque secret app-secret -n "$NS" '{.type}'
    jp configmaps role config-reader -n "$NS" '{.rules[0].resources[0]}'
    jp "Role/config-reader" rolebinding alice-config-reader -n "$NS" '{.roleRef.kind}/{.roleRef.name}'
    # -o json parses and has the kind's apiVersion.
    out=$(k get workspacetemplate e2e-ws -o json)
    python3 -c 'import json, sys; o = json.load(sys.stdin); assert o["apiVersion"] == "tenant.kubesphere.io/v1alpha2", o; assert o["spec"]["placement"] == {}, o["spec"]' <<<"$out" ||
        fail "get workspacetemplate -o json: unexpected object:
$out"
    # The YAML round-trips: replacing an object with what get returned works.
    out=$(k get user alice -o yaml | k replace -f -)
    expect_contains "${out,,}" "user.iam.kubesphere.io/alice replaced" "get -o yaml | replace -f -"
    jp alice@example.com user alice '{.spec.email}'
}

get_tables() {
    local out
    out=$(k get users)
    expect_eq "$(header "$out")" "NAME EMAIL STATUS AGE" "get users header"
    [[ $(row "$out" alice) == "alice alice@example.com "* ]] || fail "get users: no row 'alice alice@example.com ...' in:
$out"
    out=$(k get users -o wide)
    expect_eq "$(header "$out")" "NAME EMAIL STATUS AGE" "get users -o wide header"
    out=$(k get cm -n "$NS")
    expect_eq "$(header "$out")" "NAME DATA AGE" "get cm header"
    [[ $(row "$out" app-config) == "app-config 2 "* ]] || fail "get cm: no row 'app-config 2 ...' in:
$out"
    out=$(k get cm -n "$NS" -o wide)
    expect_eq "$(header "$out")" "NAME DATA AGE" "get cm -o wide header"
    out=$(k get cm -n "$NS" -l app=demo --show-labels)
    expect_eq "$(header "$out")" "NAME DATA AGE LABELS" "get cm --show-labels header"
    out=$(k get secrets -n "$NS")
    expect_eq "$(header "$out")" "NAME TYPE DATA AGE" "get secrets header"
    [[ $(row "$out" app-secret) == "app-secret Opaque 1 "* ]] || fail "get secrets: no row 'app-secret Opaque 1 ...' in:
$out"
    out=$(k get rolebindings -n "$NS" -o wide)
    expect_eq "$(header "$out")" "NAME ROLE AGE USERS GROUPS SERVICEACCOUNTS" "get rolebindings -o wide header"
    [[ $(row "$out" alice-config-reader) == "alice-config-reader Role/config-reader "*" alice" ]] ||
        fail "get rolebindings -o wide: no row 'alice-config-reader Role/config-reader AGE alice' in:
$out"
    out=$(k get ns "$NS")
    expect_eq "$(header "$out")" "NAME STATUS AGE" "get ns header"
    [[ $(row "$out" "$NS") == "$NS Active "* ]] || fail "get ns: no row '$NS Active ...' in:
$out"
    out=$(k get workspacetemplates)
    expect_eq "$(header "$out")" "NAME MANAGER AGE" "get workspacetemplates header"
    [[ $(row "$out" e2e-ws) == "e2e-ws alice "* ]] || fail "get workspacetemplates: no row 'e2e-ws alice ...' in:
$out"
    out=$(k get globalrolebindings)
    expect_eq "$(header "$out")" "NAME ROLE AGE" "get globalrolebindings header"
    [[ $(row "$out" alice-platform-viewer) == "alice-platform-viewer e2e-platform-viewer "* ]] ||
        fail "get globalrolebindings: no row 'alice-platform-viewer e2e-platform-viewer ...' in:
$out"
}

# Printer columns whose JSONPath escapes a dot: Workspace is
# .metadata.labels.kubesphere\.io/workspace and Alias
# .metadata.annotations.kubesphere\.io/alias-name.
get_tables_escaped_paths() {
    local out bad=0
    # Both tables are checked before the step fails.
    out=$(k get workspacerolebindings)
    expect_eq "$(header "$out")" "NAME WORKSPACE ROLE AGE" "get workspacerolebindings header"
    [[ $(row "$out" alice-e2e-ws-admin) == "alice-e2e-ws-admin e2e-ws e2e-ws-admin "* ]] || {
        say "    FAIL: get workspacerolebindings: no row 'alice-e2e-ws-admin e2e-ws e2e-ws-admin AGE' in:
$out" >&2
        bad=1
    }
    out=$(k get workspaceroles)
    expect_eq "$(header "$out")" "NAME WORKSPACE ALIAS AGE" "get workspaceroles header"
    [[ $(row "$out" e2e-ws-auditor) == "e2e-ws-auditor e2e-ws Workspace auditor "* ]] || {
        say "    FAIL: get workspaceroles: no row 'e2e-ws-auditor e2e-ws Workspace auditor AGE' in:
$(grep -E '^(NAME|e2e-ws-auditor) ' <<<"$out")" >&2
        bad=1
    }
    ((bad == 0))
}

describe_events() {
    local uid out
    k create configmap described -n default --from-literal=k=v >/dev/null
    uid=$(k get configmap described -n default -o jsonpath='{.metadata.uid}')
    k apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Event
metadata: {name: described.synced, namespace: default}
involvedObject: {apiVersion: v1, kind: ConfigMap, name: described, namespace: default, uid: "$uid"}
reason: Synced
message: described synced
type: Normal
source: {component: e2e}
YAML
    out=$(k describe configmap described -n default)
    expect_contains "$(tr -s ' ' <<<"$out")" "Normal Synced" "describe configmap: its event"
    expect_contains "$out" "described synced" "describe configmap: event message"
    expect_not_contains "$(grep '^Events:' <<<"$out")" "<none>" "describe configmap: Events not <none>"
    expect_contains "$(k get events -n default --field-selector involvedObject.kind=ConfigMap,reason=Synced -o name)" \
        "described.synced" "get events --field-selector"
    expect_contains "$(k get events.events.k8s.io -n default --field-selector regarding.name=described -o name)" \
        "described.synced" "get events.events.k8s.io --field-selector"
    k delete event -n default described.synced >/dev/null
    k delete configmap -n default described >/dev/null
}

# Whether `kubectl get ARGS -o jsonpath=PATH` prints EXPECTED (no output).
holds() { # EXPECTED ARGS... PATH
    [[ "$(k get "${@:2:$#-2}" -o "jsonpath=${*: -1}" 2>/dev/null)" == "$1" ]]
}

# What the in-process controllers make of the manifest, as KubeSphere's
# would: checked through kubectl alone.
controllers() {
    local out base role bad=0
    check() { # DESCRIPTION EXPECTED ARGS... PATH
        local what=$1
        shift
        eventually 20 holds "$@" || {
            say "    FAIL: $what: expected '$1' from kubectl get ${*:2:$#-2} -o jsonpath=${*: -1}, got '$(k get "${@:2:$#-2}" -o "jsonpath=${*: -1}" 2>&1)'" >&2
            bad=1
        }
    }
    check "the user controller disabled alice, who has no password" Disabled user alice '{.status.state}'
    check "the workspacetemplate controller made the workspace" "alice wonderland" \
        workspace e2e-ws '{.spec.manager} {.metadata.labels.team}'
    for base in admin regular viewer self-provisioner; do
        check "workspace role e2e-ws-$base, owned by its template" "e2e-ws WorkspaceTemplate/e2e-ws" \
            workspacerole "e2e-ws-$base" '{.metadata.labels.kubesphere\.io/workspace} {.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name}'
    done
    check "the manager's binding" "User/alice WorkspaceRole/e2e-ws-admin" \
        workspacerolebinding e2e-ws-admin '{.subjects[0].kind}/{.subjects[0].name} {.roleRef.kind}/{.roleRef.name}'
    check "the namespace is owned by its workspace and labelled" "Workspace/e2e-ws $NS" \
        namespace "$NS" '{.metadata.ownerReferences[0].kind}/{.metadata.ownerReferences[0].name} {.metadata.labels.kubesphere\.io/namespace}'
    for role in admin operator viewer; do
        check "default role $role in $NS" "$role" role "$role" -n "$NS" '{.metadata.name}'
    done
    check "the platform-admin admin is a cluster-admin" "ClusterRole/cluster-admin User/admin" \
        clusterrolebinding admin-cluster-admin '{.roleRef.kind}/{.roleRef.name} {.subjects[0].kind}/{.subjects[0].name}'
    # What they did is in the events, and describe shows it.
    out=$(k describe workspacetemplate e2e-ws)
    expect_contains "$out" "Synced" "kubectl describe workspacetemplate e2e-ws: events"
    out=$(k get events -A -o 'jsonpath={.items[*].reason}')
    expect_contains "$out" "Synced" "kubectl get events -A: the controllers' events"
    ((bad == 0))
}

patches() {
    local out
    out=$(k patch cm app-config -n "$NS" --type=merge -p '{"data":{"mode":"staging"}}')
    expect_eq "$out" "configmap/app-config patched" "patch --type=merge"
    jp staging cm app-config -n "$NS" '{.data.mode}'
    jp 3 cm app-config -n "$NS" '{.data.replicas}'

    k patch cm app-config -n "$NS" --type=json \
        -p '[{"op":"add","path":"/data/extra","value":"1"},{"op":"remove","path":"/data/replicas"}]' >/dev/null
    jp 1 cm app-config -n "$NS" '{.data.extra}'
    jp "" cm app-config -n "$NS" '{.data.replicas}'
    # A failing "test" operation rejects the whole patch.
    must_fail k patch cm app-config -n "$NS" --type=json \
        -p '[{"op":"add","path":"/data/extra2","value":"2"},{"op":"test","path":"/data/mode","value":"nope"}]' >/dev/null
    jp "" cm app-config -n "$NS" '{.data.extra2}'

    # The default patch type: strategic merge.
    k patch cm app-config -n "$NS" -p '{"data":{"k":"v"}}' >/dev/null
    jp v cm app-config -n "$NS" '{.data.k}'
    jp staging cm app-config -n "$NS" '{.data.mode}'
    k patch rolebinding alice-config-reader -n "$NS" --type=strategic \
        -p '{"metadata":{"labels":{"patched":"yes"}}}' >/dev/null
    jp yes rolebinding alice-config-reader -n "$NS" '{.metadata.labels.patched}'

    # KubeSphere kinds: merge patch.
    k patch user alice --type=merge -p '{"spec":{"lang":"zh"}}' >/dev/null
    jp zh user alice '{.spec.lang}'
    jp alice@example.com user alice '{.spec.email}'
    k patch workspacetemplate e2e-ws --type=json -p '[{"op":"replace","path":"/spec/template/spec/manager","value":"bob"}]' >/dev/null
    jp bob workspacetemplate e2e-ws '{.spec.template.spec.manager}'
    k patch workspacetemplate e2e-ws --type=merge -p '{"spec":{"template":{"spec":{"manager":"alice"}}}}' >/dev/null
    jp alice workspacetemplate e2e-ws '{.spec.template.spec.manager}'

    # label and annotate
    out=$(k label cm app-config -n "$NS" tier=backend)
    expect_eq "$out" "configmap/app-config labeled" "kubectl label"
    jp backend cm app-config -n "$NS" '{.metadata.labels.tier}'
    out=$(must_fail k label cm app-config -n "$NS" tier=frontend)
    expect_contains "$out" "already has a value" "kubectl label without --overwrite"
    k label cm app-config -n "$NS" tier=frontend --overwrite >/dev/null
    jp frontend cm app-config -n "$NS" '{.metadata.labels.tier}'
    k label cm app-config -n "$NS" tier- >/dev/null
    jp "" cm app-config -n "$NS" '{.metadata.labels.tier}'
    jp demo cm app-config -n "$NS" '{.metadata.labels.app}'
    out=$(k annotate cm app-config -n "$NS" owner=alice)
    expect_eq "$out" "configmap/app-config annotated" "kubectl annotate"
    jp alice cm app-config -n "$NS" '{.metadata.annotations.owner}'
    k annotate cm app-config -n "$NS" owner- >/dev/null
    jp "" cm app-config -n "$NS" '{.metadata.annotations.owner}'
    k label user alice iam.kubesphere.io/role=admin >/dev/null
    jp admin user alice '{.metadata.labels.iam\.kubesphere\.io/role}'
    k annotate workspace e2e-ws kubesphere.io/description="e2e workspace" >/dev/null
    jp "e2e workspace" workspace e2e-ws '{.metadata.annotations.kubesphere\.io/description}'
    out=$(k get users -l iam.kubesphere.io/role=admin -o name)
    expect_eq "$out" "user.iam.kubesphere.io/alice" "get users -l iam.kubesphere.io/role=admin -o name"
}

waits() {
    local out pid
    out=$(k wait --for=jsonpath='{.status.phase}'=Active "namespace/$NS" --timeout=10s)
    expect_contains "$out" "condition met" "wait --for=jsonpath"
    k create cm doomed -n "$NS" --from-literal=a=b >/dev/null
    # A wait started before the delete sees it through its watch.
    k wait --for=delete cm/doomed -n "$NS" --timeout=10s >"$TMP/wait-delete.out" 2>&1 &
    pid=$!
    sleep 0.5
    k delete cm doomed -n "$NS" --wait=false >/dev/null
    wait "$pid" || fail "kubectl wait --for=delete (started before the delete) failed: $(cat "$TMP/wait-delete.out")"
    # And one started after it returns at once.
    k wait --for=delete cm/doomed -n "$NS" --timeout=10s >/dev/null
    must_fail k wait --for=jsonpath='{.status.phase}'=Gone "namespace/$NS" --timeout=2s >/dev/null
}

watch() {
    local out pid help events=()
    # Captured, not piped into `grep -q`: under pipefail an early grep exit
    # can fail the pipeline with SIGPIPE.
    help=$(k get --help)
    [[ $help == *--output-watch-events* ]] && events=(--output-watch-events)
    timeout 20 "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" --cache-dir "$TMP/cache" \
        get cm -n "$NS" --watch "${events[@]}" >"$TMP/watch.out" 2>&1 &
    pid=$!
    # The initial list arrives first.
    eventually 10 grep -q '^\(ADDED *\)\{0,1\}app-config ' "$TMP/watch.out" ||
        fail "watch: the initial list did not show app-config: $(cat "$TMP/watch.out")"
    k create cm watched -n "$NS" --from-literal=x=1 >/dev/null
    eventually 10 grep -q '^\(ADDED *\)\{0,1\}watched  *1 ' "$TMP/watch.out" ||
        fail "watch: no event for the created ConfigMap watched: $(cat "$TMP/watch.out")"
    if [[ ${#events[@]} -gt 0 ]]; then
        k patch cm watched -n "$NS" --type=merge -p '{"data":{"y":"2"}}' >/dev/null
        eventually 10 grep -q '^MODIFIED  *watched  *2 ' "$TMP/watch.out" ||
            fail "watch: no MODIFIED event for watched: $(cat "$TMP/watch.out")"
        k delete cm watched -n "$NS" >/dev/null
        eventually 10 grep -q '^DELETED  *watched ' "$TMP/watch.out" ||
            fail "watch: no DELETED event for watched: $(cat "$TMP/watch.out")"
    else
        k delete cm watched -n "$NS" >/dev/null
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    out=$(cat "$TMP/watch.out")
    expect_not_contains "$out" "error" "watch output"
    say "$out" | sed 's/^/    | /'
}

creates() {
    local out
    expect_eq "$(k create ns "$NS2")" "namespace/$NS2 created" "create ns"
    jp Active ns "$NS2" '{.status.phase}'
    k create configmap lit -n "$NS2" --from-literal=a=1 --from-literal=b=two >/dev/null
    jp "1 two" cm lit -n "$NS2" '{.data.a} {.data.b}'
    k create secret generic sec -n "$NS2" --from-literal=token=abc >/dev/null
    jp YWJj secret sec -n "$NS2" '{.data.token}'
    jp Opaque secret sec -n "$NS2" '{.type}'
    k create role cm-reader -n "$NS2" --verb=get --verb=list --resource=configmaps >/dev/null
    jp "get list" role cm-reader -n "$NS2" '{.rules[0].verbs[*]}'
    jp configmaps role cm-reader -n "$NS2" '{.rules[0].resources[*]}'
    k create rolebinding cm-reader-bob -n "$NS2" --role=cm-reader --user=bob >/dev/null
    jp "Role/cm-reader User/bob" rolebinding cm-reader-bob -n "$NS2" '{.roleRef.kind}/{.roleRef.name} {.subjects[0].kind}/{.subjects[0].name}'
    k create clusterrole e2e-ns-reader --verb=get,list --resource=namespaces >/dev/null
    jp "get list" clusterrole e2e-ns-reader '{.rules[0].verbs[*]}'
    k create clusterrolebinding e2e-ns-reader-bob --clusterrole=e2e-ns-reader --user=bob >/dev/null
    jp "ClusterRole/e2e-ns-reader" clusterrolebinding e2e-ns-reader-bob '{.roleRef.kind}/{.roleRef.name}'
    k create sa builder -n "$NS2" >/dev/null
    jp builder sa builder -n "$NS2" '{.metadata.name}'
    # Strategic merge on a list with a merge key: ServiceAccount.secrets
    # merges by name, and $patch: delete removes an item.
    k patch sa builder -n "$NS2" -p '{"secrets":[{"name":"s1"}]}' >/dev/null
    k patch sa builder -n "$NS2" -p '{"secrets":[{"name":"s2"}]}' >/dev/null
    # (Patch items go first: apimachinery's mergeSortedSlice puts items
    # missing from the live list before the live ones.)
    jp "s2 s1" sa builder -n "$NS2" '{.secrets[*].name}'
    k patch sa builder -n "$NS2" -p '{"secrets":[{"name":"s1","$patch":"delete"}]}' >/dev/null
    jp s2 sa builder -n "$NS2" '{.secrets[*].name}'
    k create rolebinding builder-cm -n "$NS2" --role=cm-reader --serviceaccount="$NS2":builder >/dev/null
    jp "ServiceAccount/builder/$NS2" rolebinding builder-cm -n "$NS2" '{.subjects[0].kind}/{.subjects[0].name}/{.subjects[0].namespace}'
    # Dry runs create nothing.
    k create cm dry -n "$NS2" --dry-run=server >/dev/null
    gone cm dry -n "$NS2" || fail "create --dry-run=server created cm/dry"
}

errors() {
    local out
    out=$(must_fail k get cm nothere -n "$NS")
    expect_contains "$out" "NotFound" "get a missing ConfigMap"
    expect_contains "$out" 'configmaps "nothere" not found' "get a missing ConfigMap"
    out=$(must_fail k get user nobody)
    expect_contains "$out" "NotFound" "get a missing User"
    out=$(must_fail k create configmap lit -n "$NS2" --from-literal=a=1)
    expect_contains "$out" 'configmaps "lit" already exists' "create configmap twice"
    out=$(must_fail k create -f - <<EOF
apiVersion: iam.kubesphere.io/v1alpha2
kind: GlobalRole
metadata:
  name: e2e-platform-viewer
rules: []
EOF
    )
    expect_contains "$out" "AlreadyExists" "create -f of an existing GlobalRole"
    out=$(must_fail k get cm -n no-such-namespace nothere)
    expect_contains "$out" "NotFound" "get in a missing namespace"
    out=$(must_fail k create cm orphan -n no-such-namespace)
    expect_contains "$out" 'namespaces "no-such-namespace" not found' "create in a missing namespace"
    out=$(must_fail k create -f - <<EOF
apiVersion: v1
kind: ConfigMap
metadata:
  name: orphan
  namespace: no-such-namespace
EOF
    )
    expect_contains "$out" "NotFound" "create -f in a missing namespace"
    out=$(must_fail k apply -f - <<EOF
apiVersion: iam.kubesphere.io/v1alpha2
kind: User
metadata:
  name: bad-field
spec:
  email: bad@example.com
  notAField: 1
EOF
    )
    expect_contains "$out" "notAField" "apply with an unknown field (strict validation)"
}

explain() {
    local out
    out=$(k explain users.iam.kubesphere.io)
    expect_contains "$out" "User" "explain users.iam.kubesphere.io"
    expect_contains "$out" "spec" "explain users.iam.kubesphere.io"
    expect_contains "$out" "status" "explain users.iam.kubesphere.io"
    out=$(k explain users.spec)
    expect_contains "$out" "email" "explain users.spec"
    expect_contains "$out" "displayName" "explain users.spec"
    out=$(k explain workspacetemplates.spec.placement)
    expect_contains "$out" "clusters" "explain workspacetemplates.spec.placement"
    out=$(k explain configmaps.data)
    expect_contains "$out" "data" "explain configmaps.data"
    out=$(k explain users --recursive)
    expect_contains "$out" "lastLoginTime" "explain users --recursive"
}

deletes() {
    local out
    # A single object.
    out=$(k delete rolebinding alice-config-reader -n "$NS")
    expect_contains "$out" 'rolebinding.rbac.authorization.k8s.io "alice-config-reader" deleted' "delete rolebinding"
    gone rolebinding alice-config-reader -n "$NS" || fail "rolebinding alice-config-reader still there after delete"
    # By label.
    out=$(k delete cm,secret -n "$NS" -l app=demo)
    expect_contains "$out" 'configmap "app-config" deleted' "delete -l app=demo"
    expect_contains "$out" 'secret "app-secret" deleted' "delete -l app=demo"
    out=$(k get cm,secret -n "$NS" -l app=demo -o name)
    expect_eq "$out" "" "objects left after delete -l app=demo"
    # A manifest (what is gone already is ignored).
    k delete -f "$MANIFEST" --ignore-not-found --timeout=20s >/dev/null
    for kind in users globalroles globalrolebindings workspacetemplates workspaces workspaceroles workspacerolebindings; do
        out=$(k get "$kind" -l e2e=kubectl -o name)
        expect_eq "$out" "" "$kind left after delete -f"
    done
    eventually 10 gone ns "$NS" || fail "namespace $NS still exists 10 s after delete -f"
    # A namespace and everything in it.
    k create cm extra -n "$NS2" >/dev/null
    out=$(k delete ns "$NS2" --timeout=20s)
    expect_eq "$out" "namespace \"$NS2\" deleted" "delete ns"
    eventually 10 gone ns "$NS2" || fail "namespace $NS2 still exists 10 s after delete"
    for kind in configmaps secrets roles rolebindings serviceaccounts; do
        out=$(k get "$kind" -n "$NS2" -o name)
        expect_eq "$out" "" "$kind left in deleted namespace $NS2"
    done
    out=$(must_fail k get cm lit -n "$NS2")
    expect_contains "$out" NotFound "get a ConfigMap of a deleted namespace"
    k delete clusterrolebinding e2e-ns-reader-bob >/dev/null
    k delete clusterrole e2e-ns-reader >/dev/null
}

other_kubectls() {
    local kubectls=() kc out ran=0
    if [[ -n ${EXTRA_KUBECTLS:-} ]]; then
        read -r -a kubectls <<<"$EXTRA_KUBECTLS"
    else
        kubectls=(/usr/lib/google-cloud-sdk/bin/kubectl.1.27 /usr/lib/google-cloud-sdk/bin/kubectl.1.33)
    fi
    for kc in "${kubectls[@]}"; do
        [[ -x $kc ]] || {
            say "    ($kc not present)"
            continue
        }
        ran=1
        say "    -- $kc ($("$kc" version --client 2>/dev/null | head -n 1))"
        kv() { timeout 30 "$kc" --kubeconfig "$KUBECONFIG_FILE" --cache-dir "$TMP/cache-$(basename "$kc")" "$@"; }
        out=$(kv api-resources -o name -v=6 2>&1 >/dev/null) || fail "$kc api-resources -v=6: $out"
        expect_eq "$(requested_paths "$out")" "/api /apis " "$kc api-resources (cold cache): requests"
        out=$(kv get ns)
        [[ $(row "$out" default) == "default Active "* ]] || fail "$kc get ns: no row 'default Active ...' in:
$out"
        out=$(kv apply -f "$MANIFEST" 2>&1) || fail "$kc apply -f: $out"
        n=$(grep -Eci ' (created|unchanged)$' <<<"$out" || true)
        expect_eq "$n" "$MANIFEST_OBJECTS" "$kc apply -f: objects created or unchanged"
        out=$(kv get user alice -o yaml)
        expect_contains "$out" "email: alice@example.com" "$kc get user alice -o yaml"
        out=$(kv get cm app-config -n "$NS" -o jsonpath='{.data.mode}')
        expect_eq "$out" production "$kc get cm -o jsonpath"
        out=$(kv explain users.spec 2>&1) || fail "$kc explain users.spec: $out"
        expect_contains "$out" "email" "$kc explain users.spec"
    done
    [[ $ran == 1 ]] || say "    no other kubectl present: smoke test not run"
}

# Leases and Events, the kinds controllers write: applied, then listed
# across namespaces in one table per kind, as `kubectl get leases,events -A`,
# and the event again through events.k8s.io/v1.
leases_events() {
    local out
    k apply -f - >/dev/null <<'YAML'
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: ks-controller-manager-leader-election
  namespace: kubesphere-system
spec:
  holderIdentity: node-a
  leaseDurationSeconds: 30
---
apiVersion: v1
kind: Event
metadata:
  name: app-config.synced
  namespace: default
involvedObject:
  kind: ConfigMap
  name: app-config
  namespace: default
reason: Synced
message: "  configuration synced  "
type: Normal
count: 3
YAML
    out=$(k get leases,events -A)
    expect_contains "$(tr -s " " <<<"$out")" "NAMESPACE NAME HOLDER AGE" "get leases -A header"
    expect_eq "$(awk '$2 == "lease.coordination.k8s.io/ks-controller-manager-leader-election" {print $1, $3}' <<<"$(tr -s ' ' <<<"$out")")" \
        "kubesphere-system node-a" "get leases -A row"
    expect_eq "$(awk '$5 == "configmap/app-config" {print $1, $3, $4, $6, $7}' <<<"$(tr -s ' ' <<<"$out")")" \
        "default Normal Synced configuration synced" "get events -A row"
    out=$(k get events -n default -o wide)
    expect_contains "$(header "$out")" "LAST SEEN TYPE REASON OBJECT SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME" "get events -o wide header"
    # The same event through events.k8s.io/v1 (one storage, as in
    # Kubernetes): the same columns, the fields under their new names.
    out=$(k get events.events.k8s.io -A)
    expect_eq "$(awk '$5 == "configmap/app-config" {print $1, $3, $4, $6, $7}' <<<"$(tr -s ' ' <<<"$out")")" \
        "default Normal Synced configuration synced" "get events.events.k8s.io -A row"
    out=$(k get events.events.k8s.io -n default app-config.synced -o jsonpath='{.note}|{.regarding.name}|{.deprecatedCount}')
    expect_eq "$out" "  configuration synced  |app-config|3" "get events.events.k8s.io -o jsonpath"
    out=$(k get lease -n kubesphere-system ks-controller-manager-leader-election -o jsonpath='{.spec.leaseDurationSeconds}')
    expect_eq "$out" 30 "lease jsonpath"
    k delete lease -n kubesphere-system ks-controller-manager-leader-election >/dev/null
    k delete event -n default app-config.synced >/dev/null
}

# A non-admin user, as a person would work: an admin creates the user, the
# user logs in with `ks login` (password grant, a kubeconfig context whose
# token `ks credential` supplies), and RBAC decides: bob may read the
# ConfigMaps of $NS2 (RoleBinding cm-reader-bob, from `creates`) and no
# more. `ks logout` revokes the token at the server.
non_admin_user() {
    local out ks bobcfg
    ks=${KS:-$(dirname "$BIN")/ks}
    if [[ ! -x $ks ]]; then
        (cd "$WORKSPACE" && cargo build -q -p ks-cli) || fail "building ks"
    fi
    [[ -x $ks ]] || { fail "no ks binary at $ks (set KS)"; return; }
    k apply -f - >/dev/null <<EOF
apiVersion: iam.kubesphere.io/v1alpha2
kind: User
metadata: {name: bob}
spec: {email: bob@example.com, password: Bob-pass-1234}
EOF
    out=$(k get user bob -o jsonpath='{.spec.password}')
    [[ $out == '$2a$10$'* ]] || fail "bob's password is stored hashed: got '${out:0:7}...'"
    bobcfg=$TMP/bob.kubeconfig
    export XDG_CONFIG_HOME=$TMP/xdg
    out=$(printf 'Bob-pass-1234\n' | timeout 30 "$ks" login "$SERVER_URL" -u bob --password-stdin \
        --kubeconfig "$bobcfg" --ca-from-kubeconfig "$KUBECONFIG_FILE" 2>&1) ||
        { fail "ks login as bob: $out"; return; }
    expect_contains "$out" "as bob" "ks login as bob"
    bk() { timeout 30 "$KUBECTL" --kubeconfig "$bobcfg" --cache-dir "$TMP/cache-bob" "$@"; }
    out=$(bk get cm -n "$NS2" lit -o jsonpath='{.data.b}' 2>&1)
    expect_eq "$out" two "bob reads a ConfigMap of $NS2"
    out=$(must_fail bk get secrets -n "$NS2")
    expect_contains "$out" "secrets is forbidden: User \"bob\" cannot list resource \"secrets\" in API group \"\" in the namespace \"$NS2\"" "bob lists Secrets"
    out=$(must_fail bk create configmap bobs -n "$NS2" --from-literal=a=1)
    expect_contains "$out" "cannot create resource \"configmaps\"" "bob creates a ConfigMap"
    out=$(must_fail bk get cm -n default)
    expect_contains "$out" "in the namespace \"default\"" "bob reads another namespace"
    # Escalation prevention: bob cannot bind himself a role he does not hold.
    out=$(must_fail bk create rolebinding bob-admin -n "$NS2" --clusterrole=cluster-admin --user=bob)
    expect_contains "$out" "forbidden" "bob binds himself cluster-admin"
    timeout 30 "$ks" logout --kubeconfig "$bobcfg" >/dev/null 2>&1 || fail "ks logout"
    out=$(must_fail bk get cm -n "$NS2")
    [[ $out != *two* ]] || fail "bob still reads after ks logout"
    k delete user bob >/dev/null
    unset XDG_CONFIG_HOME
}

# The tenant scenario, through /kapis with curl and `ks login` tokens: the
# admin creates a workspace with a namespace and makes carol a member
# with a workspace role; carol sees that workspace and its namespace, and
# nothing of another workspace.
tenant_scenario() {
    local out ks admin_token carol_token other
    ks=${KS:-$(dirname "$BIN")/ks}
    [[ -x $ks ]] || { fail "no ks binary at $ks (set KS)"; return; }
    command -v curl >/dev/null 2>&1 || { fail "curl is required"; return; }
    export XDG_CONFIG_HOME=$TMP/xdg-tenant
    ks_token() { # USER PASSWORD: logs in, prints an access token
        printf '%s\n' "$2" | timeout 30 "$ks" login "$SERVER_URL" -u "$1" --password-stdin \
            --kubeconfig "$TMP/$1.tenant.kubeconfig" --ca-from-kubeconfig "$KUBECONFIG_FILE" >/dev/null 2>&1 ||
            return 1
        timeout 30 "$ks" credential --server "$SERVER_URL" --username "$1" |
            python3 -c 'import json, sys; print(json.load(sys.stdin)["status"]["token"])'
    }
    kapi() { # TOKEN METHOD PATH [BODY]: prints the body, fails on a non-2xx answer
        curl -sS --fail-with-body --cacert "$DATA/pki/ca.crt" -H "Authorization: Bearer $1" \
            -H 'Content-Type: application/json' -X "$2" "$SERVER_URL$3" ${4:+--data "$4"}
    }
    names_of() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(" ".join(i["metadata"]["name"] for i in d["items"]), d["totalItems"])'; }
    admin_token=$(ks_token admin "$(cat "$DATA/admin-password")") || { fail "ks login as admin"; return; }
    k apply -f - >/dev/null <<EOF
apiVersion: iam.kubesphere.io/v1alpha2
kind: User
metadata: {name: carol}
spec: {email: carol@example.com, password: Carol-pass-123}
EOF
    for ws in e2e-tenant e2e-other; do
        kapi "$admin_token" POST /kapis/tenant.kubesphere.io/v1alpha2/workspaces \
            "{\"apiVersion\":\"tenant.kubesphere.io/v1alpha2\",\"kind\":\"WorkspaceTemplate\",\"metadata\":{\"name\":\"$ws\"}}" >/dev/null ||
            fail "create workspace $ws"
        kapi "$admin_token" POST "/kapis/tenant.kubesphere.io/v1alpha2/workspaces/$ws/namespaces" \
            "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$ws-ns\"}}" >/dev/null ||
            fail "create a namespace in $ws"
    done
    expect_eq "$(k get ns e2e-tenant-ns -o jsonpath='{.metadata.labels.kubesphere\.io/workspace}')" e2e-tenant \
        "namespace created through the workspace carries its label"
    # The workspace role (the workspace controller will make these), then
    # carol as a member through /kapis.
    k apply -f - >/dev/null <<EOF
apiVersion: iam.kubesphere.io/v1alpha2
kind: WorkspaceRole
metadata: {name: e2e-tenant-viewer, labels: {kubesphere.io/workspace: e2e-tenant}}
rules: [{apiGroups: ["*"], resources: ["*"], verbs: [get, list, watch]}]
EOF
    kapi "$admin_token" POST /kapis/iam.kubesphere.io/v1alpha2/workspaces/e2e-tenant/workspacemembers \
        '[{"username":"carol","roleRef":"e2e-tenant-viewer"}]' >/dev/null || fail "add carol to e2e-tenant"
    jp "WorkspaceRole/e2e-tenant-viewer carol" workspacerolebinding carol-e2e-tenant-viewer \
        '{.roleRef.kind}/{.roleRef.name} {.metadata.labels.iam\.kubesphere\.io/user-ref}'
    out=$(kapi "$admin_token" GET /kapis/iam.kubesphere.io/v1alpha2/workspaces/e2e-tenant/workspacemembers | names_of)
    expect_eq "$out" "carol 1" "members of e2e-tenant"
    carol_token=$(ks_token carol Carol-pass-123) || { fail "ks login as carol"; return; }
    out=$(kapi "$carol_token" GET /kapis/tenant.kubesphere.io/v1alpha2/workspaces | names_of)
    expect_eq "$out" "e2e-tenant 1" "carol's workspaces"
    out=$(kapi "$carol_token" GET /kapis/tenant.kubesphere.io/v1alpha2/workspaces/e2e-tenant/namespaces | names_of)
    expect_eq "$out" "e2e-tenant-ns 1" "carol's namespaces in e2e-tenant"
    out=$(kapi "$carol_token" GET /kapis/tenant.kubesphere.io/v1alpha2/workspaces/e2e-other/namespaces | names_of)
    expect_eq "$out" " 0" "carol's namespaces in e2e-other"
    other=$(kapi "$carol_token" GET /kapis/tenant.kubesphere.io/v1alpha2/workspaces/e2e-other/namespaces/e2e-other-ns 2>&1) &&
        fail "carol reads a namespace of e2e-other: $other"
    expect_contains "$other" '"code":403' "carol reads a namespace of e2e-other"
    out=$(kapi "$admin_token" GET '/kapis/tenant.kubesphere.io/v1alpha2/workspaces?names=e2e-tenant,e2e-other,e2e-none&sortBy=name&ascending=true' | names_of)
    expect_eq "$out" "e2e-other e2e-tenant 2" "the admin's workspaces"
    out=$(kapi "$admin_token" GET /kapis/iam.kubesphere.io/v1alpha2/users/carol)
    expect_not_contains "$out" '$2a$' "a user through /kapis carries no password hash"
    k delete user carol >/dev/null
    unset XDG_CONFIG_HOME
}

# An oversized body gets its 413 through `kubectl proxy` every time: the
# server reads (and drops) the rest of the body before answering, so the
# proxy, still sending it, sees the answer and not a closed connection.
too_large_through_proxy() {
    local port log pid codes
    log="$TMP/proxy.log"
    "$KUBECTL" --kubeconfig "$KUBECONFIG_FILE" proxy --port=0 >"$log" 2>&1 &
    pid=$!
    eventually 10 grep -q "Starting to serve on" "$log" || { kill "$pid"; fail "kubectl proxy did not start: $(cat "$log")"; }
    port=$(grep -oE '127\.0\.0\.1:[0-9]+' "$log" | head -n 1 | cut -d: -f2)
    codes=$(python3 - "$port" <<'PY'
import json, sys, urllib.error, urllib.request
port = sys.argv[1]
body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "too-big"},
                   "data": {"k": "x" * (4 * 1024 * 1024)}}).encode()
codes = []
for _ in range(10):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/namespaces/default/configmaps",
        data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(request, timeout=60)
        codes.append("201")
    except urllib.error.HTTPError as e:
        codes.append(str(e.code))
    except Exception as e:
        codes.append(type(e).__name__)
print(" ".join(codes))
PY
)
    kill "$pid" 2>/dev/null || true
    expect_eq "$codes" "413 413 413 413 413 413 413 413 413 413" "4 MiB ConfigMap through kubectl proxy, 10 tries"
}

# ----------------------------------------------------------------- run --

START=$SECONDS
step "kubectl get --raw /version, /apis, /healthz, /readyz" raw_endpoints
step "kubectl api-resources" api_resources
step "kubectl apply -f manifests/kubesphere.yaml" apply_manifest
step "kubectl apply -f again: everything unchanged" reapply_manifest
step "kubectl get -o yaml / jsonpath: fields round-trip" get_yaml
step "kubectl get: tables" get_tables
step "kubectl get: printer columns with escaped dots in their JSONPath" get_tables_escaped_paths
step "the controllers: user, workspace template, namespace, platform-admin" controllers
step "kubectl patch (merge, json, strategic), label, annotate" patches
step "kubectl wait" waits
step "kubectl get leases,events -A" leases_events
step "kubectl describe: an object's events" describe_events
step "kubectl get --watch" watch
step "kubectl create (ns, configmap, secret, role, rolebinding, clusterrole, clusterrolebinding, sa)" creates
step "errors: NotFound, AlreadyExists, strict field validation" errors
step "a non-admin user: ks login, kubectl as bob, RBAC, ks logout" non_admin_user
step "the tenant scenario through /kapis: curl with ks login tokens" tenant_scenario
step "413 through kubectl proxy" too_large_through_proxy
step "kubectl explain" explain
step "kubectl delete (single, -l, -f, namespace)" deletes
step "other kubectl versions: smoke test" other_kubectls

say
if [[ ${#FAILED[@]} -gt 0 ]]; then
    say "FAILED: ${#FAILED[@]} step(s) in $((SECONDS - START)) s:" >&2
    for s in "${FAILED[@]}"; do say "  - $s" >&2; done
    exit 1
fi
say "PASS: all steps in $((SECONDS - START)) s"
