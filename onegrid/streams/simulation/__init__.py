"""The parts of the demo-traffic model that `onegrid.streams.simulator` runs.

`clock` (local time, daily rhythms), `frame` (km around the centre) and
`chunks` (time slices and message batches) are shared ground; `plan` fixes a
run's faults, episodes and wind; `devices`, `air`, `incidents` and
`malformed` are the sources that fill each chunk with messages. Running them
and merging their batches is the simulator's.
"""

from onegrid.streams.simulation.air import Episode, Wind, episode_pm25
from onegrid.streams.simulation.devices import SensorFault
from onegrid.streams.simulation.malformed import MALFORMED, MalformedKind
from onegrid.streams.simulation.plan import Plan, make_plan

__all__ = ["MALFORMED", "Episode", "MalformedKind", "Plan", "SensorFault", "Wind",
           "episode_pm25", "make_plan"]
