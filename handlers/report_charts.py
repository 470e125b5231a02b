"""The charts of the ward's roll-up report and of /stats, as PNG bytes an officer reads on a
phone: 1000 px wide, large type, every label from the catalogs (locales/*/LC_MESSAGES/charts.po,
and the fields' and outcomes' own labels), numbers in the language's way (1.234 in Vietnamese).

matplotlib is imported inside the functions, so the bot starts without it, and only its
object API is used (a Figure drawn by FigureCanvasAgg): no pyplot, whose global state is not
safe across threads. Drawing takes a few hundred milliseconds: callers on the event loop run it
in a thread (asyncio.to_thread). DejaVu Sans, matplotlib's own font, has the Vietnamese letters;
the emoji some catalog labels start with are dropped, as it has no glyph for them.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from handlers.domain.model import DISPUTE_FIELDS
from handlers.domain.rollup import SUCCESSFUL, TARGET_HIGH, TARGET_LOW, UNSUCCESSFUL, WITHDRAWN, Rollup
from handlers.domain.stats import StatsSeries
from handlers.report_output import DATE_FORMAT, Labels, plain

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_INCHES, DPI = 10, 100  # 1000 px
FONT = "DejaVu Sans"
TITLE, HEADING, LABEL, SMALL = 22, 18, 16, 13  # points
GREY, LIGHT, TARGET_GREEN, BELOW_TARGET = "#555555", "#e6e6e6", "#2ca02c", "#ff9f1c"
# Outcomes keep their colour in every chart; "open" is the cases still open.
OUTCOME_COLOURS = {SUCCESSFUL: "#2ca02c", UNSUCCESSFUL: "#d62728", WITHDRAWN: "#9e9e9e", "transferred": "#1f77b4",
                   "open": "#ff9f1c"}
# Fields keep theirs too: by their place in the form (matplotlib's tab10, then tab20's others).
FIELD_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                 "#bcbd22", "#17becf", "#aec7e8", "#ffbb78")
HEADING_WIDTH = 50  # characters at HEADING points across the chart, next to the y axis' labels


# --- shared ----------------------------------------------------------------------------------

def _figure(height_inches: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_INCHES, height_inches), dpi=DPI, layout="constrained")


def _png(figure: Figure) -> bytes:
    """Agg, explicitly; no "Software" text chunk, so the same figures give the same bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    output = io.BytesIO()
    figure.savefig(output, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    return output.getvalue()


def _number(t: Labels, value: float, pattern: str = "#,##0") -> str:
    from babel.numbers import format_decimal

    return format_decimal(value, format=pattern, locale=t.lang)


def _short_number(t: Labels, value: int) -> str:
    """A bar's total in the room of one of 12 bars: 3,8 Tr / 3.8M from 100 000 on."""
    if value < 100_000:
        return _number(t, value)
    from babel.numbers import format_compact_decimal

    return format_compact_decimal(value, locale=t.lang, fraction_digits=1)


def _outcome(t: Labels, code: str) -> str:
    return t("charts.stats.still_open") if code == "open" else plain(t(f"actions.outcome_value.{code}"))


def _field_colour(code: str) -> str:
    order = list(DISPUTE_FIELDS)
    return FIELD_COLOURS[order.index(code) % len(FIELD_COLOURS)] if code in order else FIELD_COLOURS[-1]


def _heading(ax: Axes, text: str) -> None:
    """A panel's title, on two lines if a translation runs long."""
    ax.set_title(textwrap.fill(text, HEADING_WIDTH), loc="left", fontsize=HEADING, fontweight="bold", fontfamily=FONT, pad=12)


def _note(ax: Axes, text: str) -> None:
    """The "no data" note in the middle of an empty panel."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=LABEL, color=GREY,
            fontfamily=FONT, wrap=True)


def _bare(ax: Axes) -> None:
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.tick_params(axis="y", labelsize=LABEL, length=0)
    ax.tick_params(axis="x", bottom=False, labelbottom=False)


def _hbars(ax: Axes, t: Labels, labels: Sequence[str], values: Sequence[int], colours: Sequence[str]) -> None:
    """Horizontal bars, top to bottom, each with its number at its end (no x axis to read)."""
    positions = range(len(values))
    bars = ax.barh(positions, values, color=colours, height=0.65)
    ax.set_yticks(positions, labels, fontfamily=FONT)
    ax.invert_yaxis()
    ax.bar_label(bars, labels=[_number(t, value) for value in values], padding=6, fontsize=LABEL,
                 fontfamily=FONT)
    ax.set_xlim(0, max(max(values, default=0), 1) * 1.22)  # room for the numbers
    _bare(ax)


# --- the roll-up report ------------------------------------------------------------------------

def rollup_chart(rollup: Rollup, t: Labels) -> bytes:
    """The period's cases by field, the mediation outcomes, and the success rate against the
    plans' 90-95 % target (seed 002), one under the other."""
    fields = list(DISPUTE_FIELDS) + sorted(set(rollup.by_field) - set(DISPUTE_FIELDS))
    figure = _figure(4.2 + 0.55 * len(fields) + 3.2)
    top, middle, bottom = figure.subplots(3, 1, height_ratios=[len(fields) + 1.5, 4.2, 2.4])
    _rollup_title(figure, rollup, t)
    _received_panel(top, rollup, t, fields)
    _mediation_panel(middle, rollup, t)
    _rate_panel(bottom, rollup, t)
    return _png(figure)


def _rollup_title(figure: Figure, rollup: Rollup, t: Labels) -> None:
    ward = t("rollup.ward", name=rollup.ward.name, code=rollup.ward.code) if rollup.ward else t("rollup.all_wards")
    period = t("charts.rollup.title", period=rollup.period, first=rollup.first.strftime(DATE_FORMAT),
               last=rollup.last.strftime(DATE_FORMAT))
    figure.suptitle(f"{period}\n{ward}", fontsize=TITLE, fontweight="bold", fontfamily=FONT)


def _received_panel(ax: Axes, rollup: Rollup, t: Labels, fields: list[str]) -> None:
    _heading(ax, t("charts.rollup.received", count=_number(t, rollup.received)))
    if not rollup.received:
        ax.set_axis_off()
        _note(ax, t("charts.rollup.no_cases"))
        return
    _hbars(ax, t, [plain(t.field(code)) for code in fields], [rollup.by_field.get(code, 0) for code in fields],
           [_field_colour(code) for code in fields])


def _mediation_panel(ax: Axes, rollup: Rollup, t: Labels) -> None:
    _heading(ax, t("charts.rollup.mediation", count=_number(t, rollup.mediated + rollup.withdrawn)))
    if not rollup.mediated + rollup.withdrawn:
        ax.set_axis_off()
        _note(ax, t("charts.rollup.no_mediation"))
        return
    codes = (SUCCESSFUL, UNSUCCESSFUL, WITHDRAWN)
    values = (rollup.successful, rollup.unsuccessful, rollup.withdrawn)
    _hbars(ax, t, [_outcome(t, code) for code in codes], values, [OUTCOME_COLOURS[code] for code in codes])


def _rate_panel(ax: Axes, rollup: Rollup, t: Labels) -> None:
    """A 0-100 % gauge with the target band shaded; the rate's bar green when it meets the target."""
    rate = rollup.success_rate
    _heading(ax, t("charts.rollup.rate", rate=_number(t, rate, "#,##0.#")) if rate is not None
             else t("charts.rollup.rate.none"))
    ax.barh([0], [100], color=LIGHT, height=0.6)
    ax.axvspan(TARGET_LOW, TARGET_HIGH, color=TARGET_GREEN, alpha=0.35, linewidth=0)
    if rate is not None:
        ax.barh([0], [rate], color=OUTCOME_COLOURS[SUCCESSFUL] if rate >= TARGET_LOW else BELOW_TARGET, height=0.6)
    ax.text(TARGET_HIGH, 0.48, t("charts.rollup.target", low=_number(t, TARGET_LOW), high=_number(t, TARGET_HIGH)),
            ha="right", va="bottom", fontsize=SMALL, color=TARGET_GREEN, fontweight="bold", fontfamily=FONT)
    ax.set_xlim(0, 100)
    ax.set_ylim(-0.5, 1.1)
    ticks = (0, 25, 50, 75, 100)
    ax.set_xticks(ticks, [f"{_number(t, tick)}%" for tick in ticks], fontsize=SMALL, fontfamily=FONT)
    ax.set_yticks([])
    ax.set_xlabel(t("charts.rollup.rate_note"), fontsize=SMALL, color=GREY, fontfamily=FONT)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


# --- /stats ------------------------------------------------------------------------------------

def stats_chart(series: StatsSeries, t: Labels) -> bytes:
    """The months' cases by field (stacked), then their outcomes and the cases still open
    (stacked), one bar per reporting month, oldest on the left."""
    figure = _figure(14)
    received, received_legend, outcomes, outcomes_legend = figure.subplots(
        4, 1, height_ratios=[5, 1.5, 5, 1.1])
    _stats_title(figure, series, t)
    ticks = _month_ticks(series)
    fields = [code for code in series.fields if any(m.received.get(code) for m in series.months)]
    _stacked(received, received_legend, t, ticks,
             [(plain(t.field(code)), _field_colour(code), [m.received.get(code, 0) for m in series.months])
              for code in fields])
    _heading(received, t("charts.stats.received"))
    codes = [*series.outcomes, "open"]
    # no totals here: outcomes recorded and cases still open do not add up to anything
    _stacked(outcomes, outcomes_legend, t, ticks,
             [(_outcome(t, code), OUTCOME_COLOURS.get(code, GREY),
               [m.still_open if code == "open" else m.outcomes.get(code, 0) for m in series.months])
              for code in codes], totals=False)
    _heading(outcomes, t("charts.stats.outcomes"))
    outcomes.set_xlabel(_month_axis(series, t), fontsize=SMALL, color=GREY, fontfamily=FONT)
    return _png(figure)


def _stats_title(figure: Figure, series: StatsSeries, t: Labels) -> None:
    title = t("charts.stats.title", count=len(series.months))
    if series.months:
        title += "\n" + t("charts.stats.range", first=series.months[0].first.strftime(DATE_FORMAT),
                          last=series.months[-1].last.strftime(DATE_FORMAT))
    figure.suptitle(title, fontsize=TITLE, fontweight="bold", fontfamily=FONT)


def _month_axis(series: StatsSeries, t: Labels) -> str:
    """Says which days a month runs (NĐ 09/2019: the 15th to the 14th, unless the ward counts
    calendar months)."""
    first = series.months[0].first.day if series.months else 1
    return t("charts.stats.month") if first == 1 else t("charts.stats.month.shifted", first=first, last=first - 1)


def _month_ticks(series: StatsSeries) -> list[str]:
    """"11" under each bar, with the year under the first month and every January."""
    ticks = []
    for index, month in enumerate(series.months):
        year, number = month.code.split("-")
        ticks.append(f"{number}\n{year}" if index == 0 or number == "01" else number)
    return ticks


def _stacked(ax: Axes, legend: Axes, t: Labels, ticks: list[str], layers: list[tuple[str, str, list[int]]],
             totals: bool = True) -> None:
    """Stacked bars (label, colour, value per month), the totals on top, the legend in its own
    panel under the chart (so it never covers a bar)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    positions = list(range(len(ticks)))
    bottoms = [0] * len(ticks)
    handles = []
    for label, colour, values in layers:
        handles.append(ax.bar(positions, values, bottom=bottoms, color=colour, width=0.72, label=label))
        bottoms = [below + value for below, value in zip(bottoms, values)]
    for position, total in zip(positions, bottoms):
        if total and totals:
            ax.text(position, total, _short_number(t, total), ha="center", va="bottom", fontsize=SMALL, fontfamily=FONT)
    ax.set_xticks(positions, ticks, fontsize=SMALL, fontfamily=FONT)
    ax.set_xlim(-0.6, max(len(ticks), 1) - 0.4)
    ax.set_ylim(0, max(max(bottoms, default=0), 1) * 1.15)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _number(t, value)))
    ax.tick_params(axis="y", labelsize=SMALL)
    ax.grid(axis="y", color=LIGHT)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if not any(bottoms):
        _note(ax, t("charts.no_data"))
    _legend(legend, handles, [label for label, _, _ in layers])


def _legend(ax: Axes, handles: list[Any], labels: list[str]) -> None:
    ax.set_axis_off()
    if handles:
        ax.legend(handles, labels, loc="center", ncols=2, frameon=False,
                  prop={"family": FONT, "size": SMALL + 1})
