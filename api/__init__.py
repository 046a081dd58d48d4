"""attune.api"""
