"""A reader of plain imperative English, turned into the step language.

    'Enter "Bob" into the text field and press Submit.'  ->  type "Bob" into "text field", click "Submit"
    'Select Lyon from the list and click Submit.'        ->  select "Lyon" in "list", click "Submit"

It knows verbs and sentence shapes, not sites or tasks: what it cannot read, it refuses.
"""

from __future__ import annotations

import re

from ..errors import StepSyntaxError
from .quoting import quote

Q = r'"([^"]*)"'
VERBS = r"(?:click|tap|press|hit|enter|type|input|write|select|choose|pick|check|tick|focus|drag|scroll|close|submit|go|open)"
KEYS = {"enter", "return", "tab", "escape", "esc", "space", "backspace", "delete"}
WIDGETS = {"text": "text field", "radio": "radio button", "checkbox": "checkbox", "textarea": "textarea",
           "button": "button", "link": "link"}




def _split_outside_quotes(text: str, pattern: str) -> list[str]:
    parts, start, inside = [], 0, False
    splitter = re.compile(pattern, re.I)
    i = 0
    while i < len(text):
        if text[i] == '"':
            inside = not inside
        elif not inside:
            m = splitter.match(text, i)
            if m and m.end() > i:
                parts.append(text[start:i])
                start = i = m.end()
                continue
        i += 1
    parts.append(text[start:])
    return [p.strip(" .") for p in parts if p.strip(" .")]


def clauses(text: str) -> list[str]:
    """Sentences, then clauses joined by 'then', 'and' or commas before a verb."""
    out = []
    for sentence in _split_outside_quotes(text, r"\.\s+|\.$|;\s*"):
        out += _split_outside_quotes(sentence, rf",?\s+(?:and\s+)?then\s+|,?\s+and\s+(?={VERBS}\b)|,\s+(?={VERBS}\b)")
    return out


def _items(text: str) -> list[str]:
    """'A, B and C' or '"A", "B"' as a list."""
    quoted = re.findall(Q, text)
    if quoted:
        return quoted
    return [t.strip() for t in re.split(r",\s*|\s+and\s+", text) if t.strip()]


def _click(target: str) -> str:
    return f"click {quote(target)}"


def _press_or_click(word: str) -> str:
    return f"press {word.capitalize()}" if word.lower() in KEYS else _click(word)


def read_clause(clause: str) -> list[str]:
    c = clause.strip().rstrip(".")
    rules = [
        # Close the dialog box by clicking the "x".
        (rf".*\bby clicking (?:on )?(?:the )?(?:{Q}|(\S+))", lambda m: [_click(m[1] or m[2])]),
        # Click the button in the dialog box labeled "Cancel".
        (rf"(?:click|tap|press)(?: on)?(?: the)? .*\blabeled {Q}", lambda m: [_click(m[1])]),
        # Click on a "textarea" widget.
        (rf"(?:click|tap)(?: on)? (?:the |a |an ){Q} widget", lambda m: [_click(WIDGETS.get(m[1].lower(), m[1]))]),
        # Click on the "Ok" button / Click on the link "nam" / Click "Search".
        (rf"(?:click|tap|press|hit)(?: on)?(?: the| a| an)?(?: button| link| tab| item)? {Q}(?: \w+)?", lambda m: [_click(m[1])]),
        # Click button ONE.
        (r"(?:click|tap)(?: on)?(?: the)? (?:button|link) (\S+)", lambda m: [_click(m[1])]),
        # Enter the password "yA" into both text fields.
        (rf"(?:enter|type|input|write)(?: the \w+)? {Q} (?:into|in) both (?:the )?(.+?)s", lambda m: [
            f"type {quote(m[1])} into {quote('1st ' + m[2])}", f"type {quote(m[1])} into {quote('2nd ' + m[2])}"]),
        # Enter the username "a" and the password "b" into the text fields.
        (rf"(?:enter|type|input|write)((?: (?:and )?the [\w ]+? {Q})+)(?: (?:into|in) .*)?",
         lambda m: [f"type {quote(v)} into {quote(k)}" for k, v in re.findall(rf"the ([\w ]+?) {Q}", m[1])]),
        # Enter "Bob" into the text field.
        (rf"(?:enter|type|input|write|fill in) {Q}(?: [\w ]+?)? (?:into|in) (?:the )?(.+)",
         lambda m: [f"type {quote(m[1])} into {quote(m[2])}"]),
        # Enter 05/20/2010 as the date.
        (r"(?:enter|type|input|set) (.+?) as the (\w+)", lambda m: [f"type {quote(m[1])} into {quote(m[2])}"]),
        # Select Lyon from the list.
        (rf"(?:select|choose|pick) (?:{Q}|(.+?)) (?:from|in) (?:the )?(?:scroll )?(list|dropdown|drop-down|menu|select box)",
         lambda m: [f"select {quote(m[1] or m[2])} in {quote(m[3])}"]),
        # Focus into the 3rd input textbox.
        (r"focus (?:into|on|in) (?:the )?(.+)", lambda m: [_click(m[1])]),
        # Drag "A" to "B".
        (rf"drag (?:{Q}|(\S+)) (?:to|onto) (?:{Q}|(.+))", lambda m: [f"drag {quote(m[1] or m[2])} to {quote(m[3] or m[4])}"]),
        # Scroll down.
        (r"scroll (up|down|left|right)\b.*", lambda m: [f"scroll {m[1].lower()}"]),
        # Press Submit / hit Enter.
        (r"(?:press|hit|submit) (?:the )?(\w+)(?: button| key)?", lambda m: [_press_or_click(m[1])]),
        # Click the button / Click on Tab #2.
        (r"(?:click|tap)(?: on)? (?:the |a |an )?([^\"“”]+)", lambda m: [_click(m[1])]),
        # Select AU / Select fzzqo, NYYyS82 (checkboxes and radio buttons by their labels).
        (r"(?:select|check|tick|choose|pick) (.+)", lambda m: [_click(item) for item in _items(m[1])]),
    ]
    for pattern, build in rules:
        match = re.fullmatch(pattern, c, re.I)
        if match:
            return build(match)
    raise StepSyntaxError(f"cannot read the instruction {clause!r}")


def read_instructions(text: str) -> list[str]:
    """Step-language lines for an English instruction. Raises `StepSyntaxError` when a clause is unreadable."""
    steps = [step for clause in clauses(text) for step in read_clause(clause)]
    if not steps:
        raise StepSyntaxError(f"no instruction in {text!r}")
    return steps
