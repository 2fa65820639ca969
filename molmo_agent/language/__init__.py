"""The step language people write (`click "Search"`, `type "SFO" into "From"`): read into actions, written
back from them. Policies, protocols, recordings and exports all speak it; it depends on none of them."""

from .steps import EXAMPLE, parse_plan, parse_step, split_steps, to_step

__all__ = ["EXAMPLE", "parse_plan", "parse_step", "split_steps", "to_step"]
