"""Performance benchmark of the six triggers: ``make bench`` (``BENCH_ARGS=--quick`` for a smoke run).

Sections, each printed as a table and written to ``.bench/results*.json``:

- ``machine``: CPU, cores, Python.
- ``audit``: which SDKs each trigger loads at import, ``-X importtime`` top contributors,
  and which of the layer's distributions any trigger loads at all.
- ``cold``: a fresh interpreter per run that imports the handler from ``sam build``'s
  output and runs one invocation against a local moto server, as a ratio to a
  baseline interpreter that imports only what the trigger cannot do without.
- ``warm``: p50/p99 over thousands of in-process invocations.
- ``decrypt``: the Custom SMS Sender against the AWS sample's per-invocation Encryption SDK set-up.
- ``sizes``: each function and the layer, unzipped and zipped.
- ``e2e``: InitiateAuth to tokens in the local sandbox.

Helper scripts in ``bench/children/`` run in the child interpreters with only the
built function and layer on their path, like Lambda.
"""
