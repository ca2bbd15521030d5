#!/bin/bash
# greenboot required health check: the EdgeEvents pipeline is up after boot.
# Install: copy to /etc/greenboot/check/required.d/40-edgeevents-ready.sh (mode 0755). If it exits non-zero on every
# boot attempt of a new rpm-ostree deployment, greenboot reboots into the previous one.
#
# Passes when, before the deadline: every EdgeEvents Deployment and StatefulSet has all its replicas ready, every
# EdgeEvents pod (not being deleted) is Ready, and every pod with a container port named "health" answers
# GET /readyz on it with 2xx. Logs what still fails while waiting and on timeout.
#
# Settings (environment, or the file EDGEEVENTS_GREENBOOT_CONF, default /etc/edgeevents/greenboot.conf):
#   EDGEEVENTS_NAMESPACE      namespace                       [edgeevents]
#   EDGEEVENTS_SELECTOR       label selector of our objects   [app.kubernetes.io/part-of=edgeevents]
#   EDGEEVENTS_READY_TIMEOUT  seconds to wait in all          [600]
#   EDGEEVENTS_READY_INTERVAL seconds between checks          [5]
#   KUBECONFIG                [/var/lib/microshift/resources/kubeadmin/kubeconfig]
set -euo pipefail

conf=${EDGEEVENTS_GREENBOOT_CONF:-/etc/edgeevents/greenboot.conf}
if [[ -r $conf ]]; then
    # shellcheck source=/dev/null
    source "$conf"
fi
namespace=${EDGEEVENTS_NAMESPACE:-edgeevents}
selector=${EDGEEVENTS_SELECTOR:-app.kubernetes.io/part-of=edgeevents}
timeout=${EDGEEVENTS_READY_TIMEOUT:-600}
interval=${EDGEEVENTS_READY_INTERVAL:-5}
export KUBECONFIG=${KUBECONFIG:-/var/lib/microshift/resources/kubeadmin/kubeconfig}

for number in "$timeout" "$interval"; do
    [[ $number =~ ^[0-9]+$ ]] || { echo "edgeevents: '$number' is not a number of seconds" >&2; exit 2; }
done

log() { echo "edgeevents: $*" >&2; }

# MicroShift hosts have oc (openshift-clients), which also answers as kubectl.
kubectl=$(command -v kubectl || command -v oc || true)
[[ -n $kubectl ]] || { log "neither kubectl nor oc is installed"; exit 2; }

deadline=$((SECONDS + timeout))

# Seconds left before the deadline, at least 1 and at most $1 when given, so no single call outlives it.
remaining() {
    local left=$((deadline - SECONDS)) most=${1:-$timeout}
    left=$((left < most ? left : most))
    echo $((left > 0 ? left : 1))
}

# kubectl bounded by the deadline: an API server that hangs must not hang the boot.
kube() {
    local left
    left=$(remaining)
    timeout "$left" "$kubectl" --request-timeout="${left}s" -n "$namespace" "$@"
}

# Prints why the pipeline is not ready (one line per problem); prints nothing when it is.
problems() {
    local workloads pods name desired ready ip deleting port found=0
    if ! workloads=$(kube get deployments,statefulsets -l "$selector" \
        -o jsonpath='{range .items[*]}{.kind}/{.metadata.name}|{.spec.replicas}|{.status.readyReplicas}{"\n"}{end}' 2>&1); then
        echo "cannot list workloads: $workloads"
        return
    fi
    while IFS='|' read -r name desired ready; do
        [[ -n $name ]] || continue
        found=1
        if [[ ${ready:-0} != "${desired:-1}" ]]; then echo "$name: ${ready:-0}/${desired:-1} replicas ready"; fi
    done <<<"$workloads"
    if ((found == 0)); then
        echo "no workloads with label $selector in namespace $namespace yet"
        return
    fi

    if ! pods=$(kube get pods -l "$selector" \
        -o jsonpath='{range .items[*]}{.metadata.name}|{.status.podIP}|{.status.conditions[?(@.type=="Ready")].status}|{.metadata.deletionTimestamp}|{.spec.containers[*].ports[?(@.name=="health")].containerPort}{"\n"}{end}' 2>&1); then
        echo "cannot list pods: $pods"
        return
    fi
    while IFS='|' read -r name ip ready deleting port; do
        [[ -n $name && -z $deleting ]] || continue
        if [[ $ready != True ]]; then
            echo "pod $name is not Ready"
        elif [[ -n $port ]] && ! curl -fsS -o /dev/null --max-time "$(remaining 5)" "http://$ip:$port/readyz" 2>/dev/null; then
            echo "pod $name: GET http://$ip:$port/readyz failed"
        fi
    done <<<"$pods"
    return 0
}

while true; do
    failures=$(problems)
    if [[ -z $failures ]]; then
        log "all EdgeEvents workloads and pods are ready"
        exit 0
    fi
    if ((SECONDS + interval >= deadline)); then
        log "not ready after ${timeout}s:"
        while IFS= read -r line; do log "  $line"; done <<<"$failures"
        exit 1
    fi
    log "waiting: ${failures%%$'\n'*}"
    sleep "$interval"
done
