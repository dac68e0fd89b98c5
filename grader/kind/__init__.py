"""The kind backend: real clusters on the learner's Docker, one per CNI profile, behind the Lab API.

* :mod:`._run` — the one subprocess runner (argv lists, timeouts, captured output, hints).
* :mod:`.kindcli` — the ``kind`` command line; :mod:`.configs` — ``kind-configs/`` and validation.
* :mod:`.cluster` — idempotent lifecycle (reuse, create, install the CNI, tear down).
* :mod:`.installers` — Calico (operator), Cilium (Helm / cilium CLI), cloud-provider-kind, images.
* :mod:`.workloads` — pods that serve a topology's ports with agnhost, as upstream e2e does.
* :mod:`.probing` — agnhost output -> Verdict; :mod:`.apierrors` — API errors -> FieldProblems.
* :mod:`.lab` — :class:`KindLab` and :class:`ClusterLab` (bring your own kubeconfig context).
* :mod:`.environment` — ``usable()`` and ``netlab doctor`` checks.

Nothing here runs on import; everything that touches Docker is behind an explicit call.
"""
