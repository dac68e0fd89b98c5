"""Cost of a probe through a Service (DNS + DNAT) and of an HTTPS request through an Ingress,
relative to a direct pod-to-pod probe, on the simulated cluster. Prints ratios; no thresholds.

    python benchmarks/services_probe.py
"""

from __future__ import annotations

import time

import grader
from grader.tls import mint_ca


def timed(fn, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def main() -> None:
    lab = grader.connect("kindnet", backend="sim", quiet=True)
    lab.deploy("shop")
    lab.install_ingress_controller("ingress-nginx")
    ca = mint_ca()
    lab.apply([ca.issue(["shop.example.com"]).secret("shop-tls", "shop"), """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: shop}
spec:
  ingressClassName: nginx
  tls: [{hosts: [shop.example.com], secretName: shop-tls}]
  rules:
  - host: shop.example.com
    http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}
"""])
    addr = lab.address("ingress/shop/shop")
    n = 300
    direct = timed(lambda: lab.probe("shop/api", "shop/web", 80), n)
    by_ip = timed(lambda: lab.probe("shop/api", "10.96.0.10", 53, "UDP"), n)
    by_name = timed(lambda: lab.probe("shop/api", "web", 80), n)
    https = timed(lambda: lab.http("host", "https://shop.example.com/", resolve=addr, ca=ca), 50)
    print(f"direct pod probe          {direct * 1e6:8.0f} µs  (1.0x)")
    print(f"Service by clusterIP      {by_ip * 1e6:8.0f} µs  ({by_ip / direct:.1f}x)")
    print(f"Service by name (DNS)     {by_name * 1e6:8.0f} µs  ({by_name / direct:.1f}x)")
    print(f"HTTPS through the Ingress {https * 1e6:8.0f} µs  ({https / direct:.1f}x, includes X.509 verification)")


if __name__ == "__main__":
    main()
