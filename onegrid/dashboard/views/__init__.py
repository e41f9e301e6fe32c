"""Views: store rows in, figures, tables and text out; pure (no store, no clock).

One module per subject: `format` (times, durations, names), `hexmap` (the H3
map layer), and a module per page's tables and charts. The pages read the
store through `queries`, call these, and return what they give.
"""
