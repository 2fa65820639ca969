"""Key names as people and models write them ("ctrl+a", "enter") -> Playwright's ("Control+a", "Enter")."""

KEY_ALIASES = {"enter": "Enter", "return": "Enter", "tab": "Tab", "escape": "Escape", "esc": "Escape",
               "backspace": "Backspace", "delete": "Delete", "space": " ", "ctrl": "Control",
               "control": "Control", "cmd": "Meta", "alt": "Alt", "shift": "Shift",
               "up": "ArrowUp", "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight",
               "pageup": "PageUp", "pagedown": "PageDown", "home": "Home", "end": "End"}


def normalize_key(key: str) -> str:
    parts = [p.strip() for p in key.replace(" + ", "+").split("+")]
    named = [KEY_ALIASES.get(p.lower(), p) for p in parts]
    return "+".join(named)
