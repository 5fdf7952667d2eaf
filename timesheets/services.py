"""Services of the timesheets app (see STYLE.md: writes, named <entity>_<action>)."""
