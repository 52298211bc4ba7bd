"""Settings: the settings dialog, settings.ini, appearance, following the system scheme."""
