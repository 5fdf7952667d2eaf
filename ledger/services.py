"""Services of the ledger app (see STYLE.md: writes, named <entity>_<action>)."""
