"""Component ids of the shell; each page module declares its own, prefixed with its key.

Every id a layout declares or a callback reads is a constant, so a test can
check that each id a page's callbacks use is in its layout, and a browser
test can find components without repeating strings. Shell ids start with
`shell-`; a page's ids start with the page's key (`map-`, `dispatch-`, ...).
"""

from __future__ import annotations

from typing import Final

URL: Final = "shell-url"
NAV: Final = "shell-nav"
PRODUCT: Final = "shell-product"
CITY: Final = "shell-city"
USER: Final = "shell-user"
LANGUAGE: Final = "shell-language"
SIGN_OUT: Final = "shell-sign-out"
BANNER: Final = "shell-banner"
PAGE: Final = "shell-page"
TICK: Final = "shell-tick"

SHELL: Final = (URL, NAV, PRODUCT, CITY, USER, LANGUAGE, SIGN_OUT, BANNER, PAGE, TICK)
