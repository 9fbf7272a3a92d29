"""Conformance: real clients (twine, uv, id) against the sandbox stand-ins, proving they speak the protocol."""
