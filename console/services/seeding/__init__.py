"""Seeding: realistic, deterministic CRM data at scale."""
