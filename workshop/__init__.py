"""A JupyterHub for a workshop room on one machine (``make workshop``), and what it needs.

* ``workshop.settings``: one frozen ``Workshop`` (folders, ports, people), saved as JSON in the
  workshop's state folder and read back by the hub's configuration.
* ``workshop.jupyterhub_config``: the hub (JupyterHub 6, configurable-http-proxy from npm, the local
  process spawner, a shared-password login for a list of names, the idle culler, the nbgrader
  exchange). Learners' servers run with ``workshop/learner/`` as Jupyter configuration (no nbgrader
  instructor tools); instructors' servers without it.
* ``workshop.admin``: prepares a workshop (Unix users, exchange, course copies, the proxy), starts the
  hub, and removes everything again (``python -m workshop.admin --help``).
* ``workshop.client``: the hub's REST API and a user server's API (contents, nbgrader's assignment
  list, kernels over their websocket), used by the rehearsal test and ``benchmarks/workshop_load.py``.

Not part of the ``grader`` package: nothing here is imported by lessons or checks.
"""
