"""Extra pods, namespaces and hosts the hidden tests of exercises 7 and 8 add (the *Try it* cells create
some of them in the learner's lab too), so that a policy that only works for the shop as drawn fails."""

from __future__ import annotations

SHOP = 'topology="shop"'

# Extra pods of exercise 7's tests (the *Try it* cells create the same ones in the learner's lab).
API_CLIENTS = [("shop/web-v2", {"app": "web-v2", "tier": "frontend"}, [80]),   # a second front end: gets in
               ("shop/web-debug", {"app": "web"}, [80]),                        # app=web but not the front-end tier: stays out
               ("untrusted/fake-web", {"app": "web", "tier": "frontend"}, [80]),
               ("monitoring/web", {"app": "web", "tier": "frontend"}, [80])]
DB_CLIENTS = [("shop/api-v2", {"app": "api-v2", "tier": "backend"}, [8080]),
              ("untrusted/fake-api", {"app": "api", "tier": "backend"}, [8080])]
SCRAPERS = [("monitoring/grafana", {"app": "grafana"}, [3000]),
            ("untrusted/prometheus", {"app": "prometheus"}, [9090]),
            ("shop/prometheus", {"app": "prometheus"}, [9090])]
B_NEXT = ("x/b-next", {"pod": "b"}, ["82/UDP/serve-81-udp", "80/TCP/serve-80-tcp", "81/TCP/serve-81-tcp"])
"""A new version of x/b that serves the UDP port named serve-81-udp on 82: a rule by name follows it, a rule by number does not."""
KUBE_SYSTEM_OTHER = ("kube-system/dnsmasq", {"app": "dnsmasq"}, ["53/UDP", "53/TCP"])
"""A pod of kube-system that is not CoreDNS (tests only: on kind the lab does not create pods in kube-system)."""
GATEWAY_LOOKALIKES = [("infra/debug", {"app": "debug"}, [80]),
                      ("untrusted/fake-gateway", {"gateway.networking.k8s.io/gateway-name": "shared"}, [80])]
"""Another pod of the shared Gateway's namespace, and the Gateway's pod label in another namespace."""
STAGING = 'check.add_namespace("shop-staging", {"team": "shop"})'
"""Another namespace with the shop's team label: a namespaceSelector team=shop matches it, but the tasks mean namespace shop."""
STAGING_PODS = [("shop-staging/web", {"app": "web", "tier": "frontend"}, [80]),
                ("shop-staging/api", {"app": "api", "tier": "backend"}, [8080])]
LOGGING = 'check.add_namespace("logging", {"team": "platform"})'
"""Another namespace of the platform team, which is not the monitoring namespace."""
LOGGING_PROMETHEUS = ("logging/prometheus", {"app": "prometheus"}, [9090])
FAKE_DB = ("untrusted/fake-db", {"app": "db", "tier": "database"}, [5432])
"""The database's labels in another namespace."""
FAKE_DNS = ("untrusted/fake-dns", {"k8s-app": "kube-dns"}, ["53/UDP", "53/TCP"])
"""CoreDNS's label in another namespace."""
NEXT_DOOR = 'check.add_neighbour_host("next-door.example.com", "203.0.113.11")'
"""A host at the address next to api.example.com (203.0.113.10): a /24 lets the API reach it."""
