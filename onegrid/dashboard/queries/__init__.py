"""Store reads of the dashboard, scoped by the signed-in actor, one module per subject.

Every function takes the `Store` and the actor's `access.Scope` and returns
plain rows (dicts, datetimes in UTC) or arrays; none writes. Reporter names
and phones leave here masked unless the scope may see them.
"""
