"""Objects on the ``shop`` topology that several tests start from."""

SHOP_SERVICES = """
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  selector: {app: api}
  ports: [{name: http, port: 8080, targetPort: http}]
"""
"""ClusterIP Services for the front end (port 80) and the API (8080), both by port name."""
