"""Benchmarks of jupyter_server_lite against jupyter_server and the ceilings.

Run ``python -m bench --help``; the method is described in
``docs/benchmarks.md``.  Not part of the installed package: it runs from a
checkout and starts every server it measures as a separate process.
"""
