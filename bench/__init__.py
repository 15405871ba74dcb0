"""Performance benchmark of the six triggers, on what ``sam build`` produces: ``make bench``.

Sections, each printed as a table, all written to ``.bench/results.json``:

- ``cold``: a fresh interpreter per run, run the Lambda way, imports the handler and runs one
  invocation, on the built artifacts as shipped (compiled) and with their bytecode removed
  (source-only), and a baseline interpreter that imports only what the trigger cannot do without.
- ``warm``: p50/p99 of in-process invocations, and the Custom SMS Sender against the AWS sample's
  pattern of building the Encryption SDK client in every invocation.
- ``sizes``: each function and the layer, unzipped and zipped, with and without bytecode.

AWS calls go to a moto server on 127.0.0.1. Timings never decide the exit status.
"""
