"""Services of the billing app (see STYLE.md: writes, named <entity>_<action>)."""
