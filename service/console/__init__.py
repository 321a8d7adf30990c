"""The data-protection officer's console: compliance, retention runs, inventory, the Art. 30 record
and the audit log checked twice (by the server, and by the DPO's own browser)."""
