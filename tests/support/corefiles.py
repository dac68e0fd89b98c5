"""Corefiles as real clusters have them (for the CoreDNS patch tests and the fake kubectl)."""

# kubeadm's CoreDNS ConfigMap as kind >= v0.2x deploys it (kubernetes
# cmd/kubeadm/app/phases/addons/dns/manifests.go, rendered for cluster.local).
KUBEADM_COREFILE = """.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
"""
