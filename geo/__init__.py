"""Allimi's domain: settings, database provisioning, schema, geometry rules and data loading."""
