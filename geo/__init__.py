"""Allimi's domain: settings, schema, geometry rules and data loading.

Provisioning and migrating the database is ``geo.store``'s, for the ``allimi`` command.
"""
