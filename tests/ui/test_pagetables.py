"""The page-table browser (Alt+A, or Enter in the memory map): every address space a
guest has used, its table walked beside the shadow, and the legend of the memory
map's words — checked by what is on the screen against the VMM's own answers
(tuivmm.vmm.spaces and the shadow tables), at 80 x 24 and 200 x 55.

Guests run only when a test runs their slices (virtual time), so every run is the same.
"""

from __future__ import annotations

import pytest

from tuivmm.ui.pagetables import LEGEND, PageTableBrowser, flags_text, legend_text, range_text
from tuivmm.vmm.spaces import current_space, inspect_space

from .test_everyday import at_prompt, run_app, session_of, settle, typed


async def ready(pilot, app, session) -> None:
    """unix at its prompt after `ls` and `echo hi`."""
    at_prompt(session, "unix")
    await typed(pilot, "ls")
    at_prompt(session, "unix", 2)
    await typed(pilot, "echo hi")
    at_prompt(session, "unix", 3)
    await settle(pilot, app)


async def opened(pilot, app, key: str = "alt+a") -> PageTableBrowser:
    await pilot.press(key)
    await pilot.pause()
    await pilot.pause()
    assert isinstance(app.screen, PageTableBrowser), app.screen
    return app.screen


def shown_as_the_vmm_walks_it(browser: PageTableBrowser, guest, satp) -> None:
    """Every row of both tables says what tuivmm.vmm.spaces says about `satp`."""
    view = inspect_space(guest, satp)
    rows = browser.guest_text()
    assert len(rows) == len(view.runs) > 0
    for row, run, counts in zip(rows, view.runs, view.filled):
        assert row["virtual"] == range_text(run.va, run.end)
        assert row["guest-phys"] == f"{run.gpa:#010x}"
        assert row["host-phys"] == (f"{run.hpa:#010x}" if run.hpa is not None else "—")
        if run.kind in ("page", "superpage"):
            assert row["rwxugad"] == flags_text(run.bits)
            filled = sum(counts.values())
            assert row["in shadow"].startswith(f"{filled}/{run.pages}")
    shadow = browser.shadow_text()
    leaves = [row for row in shadow if row["rwx"] != "(table)"]
    assert [(row["virtual"], int(row["pages"]), row["host-phys"]) for row in leaves] == [
        (range_text(r.va, r.end), r.pages, f"{r.hpa:#010x}") for r in view.shadow_runs]  # fmt: skip
    assert sum(len(s.tables) for s in view.shadows) == len(shadow) - len(leaves)


@pytest.mark.parametrize("size", [(80, 24), (200, 55)])
def test_alt_a_opens_the_browser_on_the_space_unix_runs_in_and_walks_it_as_the_vmm_does(size):
    session = session_of("unix")

    async def body(pilot, app):
        await ready(pilot, app, session)
        guest = session.guest("unix")
        browser = await opened(pilot, app)
        kernel = current_space(guest)
        assert kernel is not None and browser.chosen == kernel
        shown_as_the_vmm_walks_it(browser, guest, kernel)
        # The kernel's text, read-execute, at its own address; the rest of RAM in superpages.
        rows = browser.guest_text()
        text = next(r for r in rows if r["virtual"].startswith("0x80000000–") and r["level"].strip() == "L0")
        assert text["rwxugad"] == "r-x--ad" and text["guest-phys"] == "0x80000000"
        assert text["in shadow"].endswith(" S") and not text["in shadow"].startswith("0/")
        assert any(r["level"] == "L1 4MiB" and r["virtual"].startswith("0x80400000–") for r in rows)
        # Every address space is listed: no paging, the kernel's, one per process.
        options = browser.query_one("#pt-spaces")
        assert options.option_count == 1 + len(guest.spaces) >= 5
        # Both tables are on the screen, with room for rows; at 200 columns, side by side.
        width, height = size
        guest_table, shadow_table = browser.guest_table, browser.shadow_table
        for table in (guest_table, shadow_table):
            assert table.region.height >= 4 and table.region.bottom <= height and table.region.right <= width
        if width >= 180:
            assert shadow_table.region.x > guest_table.region.right - 1
        else:
            assert shadow_table.region.y >= guest_table.region.bottom
        # The legend: under the tables on a tall screen; `?` shows it on a short one.
        legend = browser.query_one("#pt-legend")
        if height >= 40:
            assert legend.display and legend.region.bottom <= height
        else:
            assert legend.region.height == 0
            await pilot.press("question_mark")
            await pilot.pause()
            assert len(LEGEND) <= legend.region.height and legend.region.bottom <= height - 1
            await pilot.press("question_mark")
            await pilot.pause()
        # Esc closes it, and the keys go back where they were.
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main_screen and app.keyboard_pane() == "console"

    run_app(session, body, size)


def test_choosing_another_address_space_shows_its_table_and_that_no_shadow_is_kept_for_it():
    session = session_of("unix")

    async def body(pilot, app):
        await ready(pilot, app, session)
        guest = session.guest("unix")
        browser = await opened(pilot, app)
        before = browser.guest_text()
        shell = max(guest.spaces.uses()[1:], key=lambda use: use.writes).satp
        ids = [option.id for option in browser.query_one("#pt-spaces").options]
        for _ in range(ids.index(f"{shell:#010x}") - ids.index(f"{browser.chosen:#010x}")):
            await pilot.press("down")
        await pilot.pause()
        assert browser.chosen == shell
        after = browser.guest_text()
        assert after != before
        shown_as_the_vmm_walks_it(browser, guest, shell)
        # The shell's own pages, user and below the kernel's; the kernel's half shared.
        assert any(r["rwxugad"][3] == "u" for r in after)
        assert any(r["virtual"].startswith("0x80000000–") for r in after)
        # Its shadow went at the satp write back to the kernel's table: the heading says so.
        assert browser.shadow_text() == []
        assert "none kept" in str(browser.query_one("#pt-shadow-heading").render())
        # Up to the top: no paging, the guest-physical map beside virtual M-mode's shadow.
        await pilot.press("home")
        await pilot.pause()
        assert browser.chosen is None
        assert any(r["note"] == "ram: guest RAM" for r in browser.guest_text())
        shown_as_the_vmm_walks_it(browser, guest, None)
        # `r` walks again, and nothing typed here reaches the guest.
        sent = bytes(guest.input)
        await pilot.press("r")
        await pilot.pause()
        assert bytes(guest.input) == sent and isinstance(app.screen, PageTableBrowser)
        await pilot.press("alt+a")  # Alt+A closes it too
        await pilot.pause()
        assert app.screen is app.main_screen

    run_app(session, body, (200, 55))


def test_enter_in_the_memory_map_opens_the_browser_on_a_small_terminal():
    session = session_of("unix")

    async def body(pilot, app):
        at_prompt(session, "unix")
        await settle(pilot, app)
        await pilot.press("alt+m")
        await settle(pilot, app)
        assert app.keyboard_pane() == "memory"
        browser = await opened(pilot, app, "enter")
        assert browser.chosen == current_space(session.guest("unix"))
        assert session.guest("unix").input == b""  # the Enter was not the guest's
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.main_screen and app.keyboard_pane() == "memory"

    run_app(session, body, (80, 24))


def test_the_legend_is_a_line_for_every_word_of_the_memory_map_and_fits_80_columns():
    lines = legend_text().plain.split("\n")
    assert len(lines) == len(LEGEND) and all(len(line) <= 78 for line in lines)
    words = [term for term, _ in LEGEND]
    for word in ("view", "kept", "filled", "hidden fault", "true fault", "shadow pool", "door"):
        assert word in words
