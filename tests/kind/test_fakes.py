"""The fake tools themselves: what the code under test sees is a real executable's behaviour."""

from __future__ import annotations

from grader.kind._run import _run


def test_argv_stdin_environment_and_exit_codes_pass_through(fakes) -> None:
    odd = ["get", "clusters", "with space", "new\nline", ""]
    done = _run(["kind", *odd], timeout=30, check=False, env={"KUBECONFIG": "/course/kc"})
    assert done.ok and done.stderr == "No kind clusters found.\n" and done.stdout == ""
    record = fakes.records("kind")[-1]
    assert record["argv"] == odd and record["kubeconfig_env"] == "/course/kc" and record["stdin"] is None
    _run(["kubectl", "--context", "kind-nope", "apply", "-f", "-"], timeout=30, check=False, input="kind: ConfigMap\n")
    assert fakes.records("kubectl")[-1]["stdin"] == "kind: ConfigMap\n"
    failed = _run(["docker", "info"], timeout=30, check=False)
    assert failed.ok
    fakes.set(docker_running=False)
    failed = _run(["docker", "info"], timeout=30, check=False)
    assert failed.returncode == 1 and "Cannot connect to the Docker daemon" in failed.stderr and failed.stdout == ""
    bare = _run(["helm"], timeout=30, check=False)
    assert bare.ok and fakes.records("helm")[-1]["argv"] == []
