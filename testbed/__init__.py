"""Test bed for the tsh.zoho_sync collection: a throwaway PostgreSQL cluster
(``pgcluster``), a deterministic generator of realistic queue contents on the real
TSH schema (``generate``) and a simulator of the production sync worker (``worker``).

Nothing here is imported by the collection itself; the tests, the demo, the Molecule
containers and the benchmarks use it to build believable production states.
"""
