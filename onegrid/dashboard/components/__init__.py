"""Components the pages share: the hex map, the action status line, case tables, KPI cards."""
