"""attune.ingest"""
