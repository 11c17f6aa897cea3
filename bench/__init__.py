"""Benchmarks of the tsh.zoho_sync collection (issue 5): python -m bench.run --quick|--full."""
