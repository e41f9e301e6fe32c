"""Responses that land late, held back on purpose in a real browser: the environment page
must still draw what it shows, and the live pages must keep up with a slow server.

Dash applies a response to whatever component has the id when it lands, and drops a request
still under way when the same callback is asked again. On a busy server both happen by
chance; here the page's own fetch holds the responses, so they happen every time.
"""

from __future__ import annotations

from onegrid.dashboard.pages import command_map
from onegrid.dashboard.pages import environment as env
from tests.browser.conftest import login, watch
from tests.browser.test_environment import pick_station, text_of

_BADGES = "document.querySelectorAll('.og-station-badge').length"
_CHART = f"document.querySelector('#{env.CHART} .js-plotly-plot')"
_TITLE = f"((({_CHART} || {{}}).layout || {{}}).title || {{}}).text || ''"
# Wraps the page's fetch: while window.ogHold(outputs) says so, a callback's response is
# kept in window.ogHeld until the test releases it; window.ogDelay(outputs) gives the
# milliseconds by which to delay it; for the requests window.ogCount(outputs) picks,
# ogFlying counts those under way, ogMost the most at once and ogDone those answered.
_HOLD = """() => {
  Object.assign(window, {ogHeld: [], ogHold: null, ogDelay: null, ogCount: null,
                         ogFlying: 0, ogMost: 0, ogDone: 0});
  const fetched = window.fetch;
  window.fetch = function (url, options) {
    let answer = fetched.apply(this, arguments);
    const outputs = String((options && options.body) || "").split('"outputs"')[0];
    if (!String(url).includes("_dash-update-component")) { return answer; }
    const counted = window.ogCount && window.ogCount(outputs);
    if (counted) { window.ogFlying += 1; window.ogMost = Math.max(window.ogMost, window.ogFlying); }
    const wait = window.ogDelay ? window.ogDelay(outputs) : 0;
    if (wait) {
      answer = answer.then(r => new Promise(done => setTimeout(() => done(r), wait)));
    } else if (window.ogHold && window.ogHold(outputs)) {
      answer = answer.then(r => new Promise(done => window.ogHeld.push(
        {outputs: outputs, release: () => done(r)})));
    }
    if (!counted) { return answer; }
    return answer.then(r => { window.ogFlying -= 1; window.ogDone += 1; return r; });
  };
}"""


def open_environment(page, serve, air_ctx) -> dict[str, list[str]]:
    """Sign in as the city-wide officer on the environment page, with responses holdable."""
    url = serve(air_ctx)
    seen = watch(page, url)
    page.set_viewport_size({"width": 1400, "height": 900})
    login(page, url, "EO-01", path="/environment")
    page.wait_for_function(f"{_BADGES} === {len(air_ctx.registry.stations)}", timeout=30_000)
    page.evaluate(_HOLD)
    return seen


def held(page, part: str) -> int:
    """Return how many held responses are for an output naming `part`."""
    return page.evaluate(f"window.ogHeld.filter(h => h.outputs.includes({part!r})).length")


def wait_held(page, part: str) -> None:
    """Wait until a response for an output naming `part` is held."""
    page.wait_for_function(f"window.ogHeld.some(h => h.outputs.includes({part!r}))",
                           timeout=30_000)


def test_a_map_response_from_the_page_before_a_language_switch_leaves_the_map_drawn(
        page, serve, air_ctx):
    seen = open_environment(page, serve, air_ctx)
    map_part, shell_part = f"{env.STATIONS}.data", "shell-page.children"
    page.evaluate(f"() => {{ window.ogHold = o => o.includes({map_part!r}) "
                  f"|| o.includes({shell_part!r}); }}")
    page.locator(f"#{env.MEASURE}").get_by_text("PM2.5", exact=True).click()
    wait_held(page, map_part)
    page.get_by_text("English", exact=True).click()
    wait_held(page, shell_part)
    page.wait_for_timeout(1000)  # whatever else the switch asks for is asked by now
    assert held(page, shell_part) == 1 and held(page, map_part) >= 1
    # The new page's layout lands, and in the same turn the old page's map values, the
    # newest first (Dash keeps only the newest of a callback's requests).
    page.evaluate(f"""() => {{
      window.ogHold = null;
      const shell = window.ogHeld.filter(h => h.outputs.includes({shell_part!r}));
      const maps = window.ogHeld.filter(h => !h.outputs.includes({shell_part!r})).reverse();
      shell.concat(maps).forEach(h => h.release());
    }}""")
    page.wait_for_function(f"{text_of(env.EXCEED)}.includes('Exceedances')", timeout=30_000)
    page.wait_for_function(f"{_BADGES} === {len(air_ctx.registry.stations)}", timeout=30_000)
    assert seen["errors"] == []


def test_a_station_picked_while_the_slider_moves_gets_its_series_drawn(page, serve, air_ctx):
    seen = open_environment(page, serve, air_ctx)
    chart_part = f"{env.CHART}.figure"
    page.evaluate(f"() => {{ window.ogHold = o => o.includes({chart_part!r}); }}")
    pick_station(page, "静安监测站")
    wait_held(page, chart_part)
    page.evaluate("() => { window.ogHold = null; }")
    # Play moves the slider: the chart is asked again, for the slider only, and Dash drops
    # the station's request still under way.
    page.click(f"#{env.PLAY}")
    page.wait_for_function(f"{text_of(env.PLAY)}.includes('暂停')", timeout=15_000)
    page.wait_for_timeout(1500)
    page.evaluate("window.ogHeld.forEach(h => h.release())")
    page.click(f"#{env.PLAY}")
    page.wait_for_function(f"({_TITLE}).includes('静安监测站')", timeout=30_000)
    assert seen["errors"] == []


def test_the_player_plays_every_hour_on_a_server_slower_than_its_ticks(page, serve, air_ctx):
    seen = open_environment(page, serve, air_ctx)
    # Each map response takes 1.5 s longer: more than the player's tick (PLAY_MS).
    page.evaluate(f"() => {{ window.ogDelay = o => o.includes('{env.STATIONS}.data') "
                  f"? {env.PLAY_MS + 500} : 0; }}")
    first = page.text_content(f"#{env.STEP}")
    page.click(f"#{env.PLAY}")
    shown: list[str] = []
    for _ in range(120):
        label = page.text_content(f"#{env.STEP}")
        if label != first and (not shown or shown[-1] != label):
            shown.append(label)
        if len(shown) >= 3:
            break
        page.wait_for_timeout(250)
    page.click(f"#{env.PLAY}")
    assert len(shown) >= 3, shown  # the map moved hour by hour, not frozen until the end
    assert seen["errors"] == []


def test_the_live_map_waits_for_a_slow_server_instead_of_dropping_its_answers(
        page, serve, dash_ctx):
    url = serve(dash_ctx)
    seen = watch(page, url)
    login(page, url, "CC-01", path="/map")
    page.wait_for_selector(f"#{command_map.MAP} canvas", timeout=30_000)
    page.evaluate(_HOLD)
    # Each map answer takes longer than the live tick (refresh_ms).
    asked = f"o => o.includes('{command_map.HEX}.hideout')"
    page.evaluate(f"() => {{ window.ogCount = {asked}; "
                  f"window.ogDelay = o => ({asked})(o) ? {dash_ctx.refresh_ms + 1000} : 0; }}")
    page.wait_for_function("window.ogDone >= 3", timeout=60_000)
    # The tick asked again only once the last answer was in: none was dropped under way.
    assert page.evaluate("window.ogMost") == 1
    assert seen["errors"] == []
