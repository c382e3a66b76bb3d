"""Outbound campaigns: pacing, compliance and the dialer (issue 18)."""
