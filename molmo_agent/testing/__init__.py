"""molmo-agent inside pytest: the plugin (registered through the `pytest11` entry point) and its fixtures."""
