# nbgrader settings for learners. The Validate button reads this file when JupyterLab was started
# in this folder (`make lab`): it runs the whole notebook, with the same time limits as grading.
c = get_config()  # noqa: F821  (traitlets injects get_config when it loads this file)

# Per-cell limit: a check on the simulated cluster takes well under a second; on a real kind
# cluster (NETLAB_BACKEND=kind) applying policies and probing a matrix can take minutes.
c.Execute.timeout = 300
c.Execute.startup_timeout = 120
