"""Services of the projects app (see STYLE.md: writes, named <entity>_<action>)."""
