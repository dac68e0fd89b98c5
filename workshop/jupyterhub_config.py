# JupyterHub configuration for a workshop room (JupyterHub 6.1). Started by `python -m workshop.admin`
# (`make workshop`), which writes the workshop's settings and points NETLAB_WORKSHOP at them.
# Reference: https://jupyterhub.readthedocs.io/en/stable/reference/config-reference.html
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository, for `workshop`

from workshop.settings import COURSE_FOLDER, LESSON_0, Workshop
from workshop.spawn import prepare_home, server_environment

c = get_config()  # noqa: F821  (traitlets injects get_config when it loads this file)
ws = Workshop.load(Path(os.environ["NETLAB_WORKSHOP"]))

# --- network: the proxy (configurable-http-proxy from npm) in front, the hub behind it -------------
c.JupyterHub.bind_url = f"http://{ws.ip}:{ws.port}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = ws.hub_port
c.ConfigurableHTTPProxy.command = [str(ws.proxy)]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{ws.proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = str(ws.hub_dir / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{ws.hub_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(ws.secret("cookie-secret"))
c.JupyterHub.pid_file = str(ws.hub_dir / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every server it started
c.JupyterHub.cleanup_proxy = True

# --- who may log in: a list of names and one shared password (never "any password") ---------------
# SharedPasswordAuthenticator (JupyterHub >= 5): participants type their name and the room's
# password; instructors log in with the admin password and are the hub's admins.
# https://jupyterhub.readthedocs.io/en/stable/reference/api/authenticators.html#jupyterhub.authenticators.shared.SharedPasswordAuthenticator
c.JupyterHub.authenticator_class = "jupyterhub.authenticators.shared.SharedPasswordAuthenticator"
c.SharedPasswordAuthenticator.user_password = ws.secret("user-password").read_text().strip()
c.SharedPasswordAuthenticator.admin_password = ws.secret("admin-password").read_text().strip()
c.Authenticator.allowed_users = set(ws.participants) | set(ws.instructors)
c.Authenticator.admin_users = set(ws.instructors)

# --- servers: one process per person, as that person's Unix user ---------------------------------
c.JupyterHub.spawner_class = "jupyterhub.spawner.LocalProcessSpawner"
c.Spawner.cmd = [str(ws.venv / "bin" / "jupyterhub-singleuser")]
c.Spawner.start_timeout = 180  # a busy 2-core machine starts 20 servers in a row
c.Spawner.http_timeout = 180
c.Spawner.notebook_dir = "~/" + COURSE_FOLDER
c.Spawner.default_url = "/lab/tree/" + LESSON_0


def _pre_spawn(spawner):
    """Learners open lesson 0 of their hand-out copy; instructors their clone of the course."""
    name = spawner.user.name
    instructor = name in ws.instructors
    prepare_home(ws, name, instructor=instructor)
    spawner.environment.update(server_environment(ws, instructor=instructor))
    if instructor:
        spawner.default_url = "/lab"


c.Spawner.pre_spawn_hook = _pre_spawn

# --- services: the idle culler, and an API token for the workshop's own scripts -----------------
# https://github.com/jupyterhub/jupyterhub-idle-culler#as-a-hub-managed-service
c.JupyterHub.services = [
    {"name": "idle-culler", "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={ws.idle_timeout}"]},
    {"name": "workshop-admin", "api_token": ws.secret("api-token").read_text().strip()},
]
c.JupyterHub.load_roles = [
    {"name": "idle-culler", "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"], "services": ["idle-culler"]},
    {"name": "workshop-admin", "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users", "read:services"], "services": ["workshop-admin"]},
]
