"""Services of the crm app (see STYLE.md: writes, named <entity>_<action>)."""
