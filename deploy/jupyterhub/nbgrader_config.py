# nbgrader settings every server of the course reads on Kubernetes (the image puts this file in
# /opt/netlab/config, which JUPYTER_CONFIG_PATH names in values.yaml).
c = get_config()  # noqa: F821  (traitlets injects get_config when it loads this file)
c.CourseDirectory.course_id = "k8s-networking"
# The exchange: an Azure Files NFS share (ReadWriteMany) mounted in every user's pod (values.yaml).
c.Exchange.root = "/srv/nbgrader/exchange"
