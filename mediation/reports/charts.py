"""Charts as inline SVG drawn on the server: no JavaScript library, no CDN, and the very same markup
goes into the PDF (WeasyPrint renders inline SVG).

Each chart is an ``<svg role="img">`` with a ``<title>``; bars are ``<rect class="bar …">``, lines
are ``<path class="line …">``; every bar carries its value in a ``<title>`` for screen readers and
hover."""

from __future__ import annotations

from html import escape

from markupsafe import Markup

FONT = "'Noto Sans CJK SC', 'Noto Sans SC', sans-serif"
COLORS = {
    "new": "#1f5fa8",
    "closed": "#1e7b46",
    "resolved": "#7fb77e",
    "carried_out": "#b42318",
    "received": "#1f5fa8",
    "handled": "#8a5a00",
    "success": "#1e7b46",
}
PALETTE = ("#1f5fa8", "#1e7b46", "#8a5a00", "#b42318", "#6941c6", "#0e7490", "#c4320a", "#475467")


def _nice_max(value: float) -> int:
    """A round upper bound for an axis with four whole-number steps."""
    target = max(value, 1) / 4
    magnitude = 1
    while True:
        for k in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            step = k * magnitude
            if step == int(step) and step >= target:
                return int(4 * step)
        magnitude *= 10


def _text(x, y, text, *, anchor="start", size=11, fill="#1d2733", weight="normal", extra="") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family="{FONT}" font-size="{size}" fill="{fill}" '
        f'text-anchor="{anchor}" font-weight="{weight}"{extra}>{escape(str(text))}</text>'
    )


def _open(width: int, height: int, title: str, css_class: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {css_class}" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'aria-label="{escape(title)}" style="max-width:{width}px">',
        f"<title>{escape(title)}</title>",
    ]


def _legend(items: list[tuple[str, str, str]], x: float, y: float) -> list[str]:
    out = []
    for label, color, kind in items:
        if kind == "line":
            out.append(
                f'<path d="M{x:.1f},{y - 4:.1f} h14" stroke="{color}" stroke-width="2.5" fill="none"/>'
            )
        else:
            out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="12" height="10" fill="{color}"/>')
        out.append(_text(x + 18, y, label, size=11))
        x += 26 + 12 * len(label)
    return out


def trend_chart(points: list[dict], title: str = "近12个月趋势") -> Markup:
    """Grouped bars of new and closed per month, with the carried-out line over them."""
    width, height = 720, 280
    left, right, top, bottom = 44, 16, 34, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max([max(p["new"], p["closed"], p["carried_out"]) for p in points] + [0]))
    parts = _open(width, height, title, "chart-trend")
    parts += _legend(
        [
            ("新增", COLORS["new"], "bar"),
            ("办结", COLORS["closed"], "bar"),
            ("结转下月", COLORS["carried_out"], "line"),
        ],
        left,
        16,
    )
    for i in range(5):  # grid lines and axis labels
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<path class="grid" d="M{left},{y:.1f} H{width - right}" stroke="#d9e0e8" stroke-width="1"/>'
        )
        parts.append(_text(left - 6, y + 4, f"{value:g}", anchor="end", size=10, fill="#5d6b7a"))
    n = max(len(points), 1)
    slot = plot_w / n
    bar_w = max(slot * 0.32, 2)
    line = []
    for i, p in enumerate(points):
        x0 = left + slot * i + slot * 0.14
        for j, key in enumerate(("new", "closed")):
            h = plot_h * p[key] / peak
            x = x0 + j * bar_w
            parts.append(
                f'<rect class="bar bar-{key}" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{COLORS[key]}"><title>{escape(p["month"])} '
                f"{'新增' if key == 'new' else '办结'} {p[key]}</title></rect>"
            )
        cx = left + slot * i + slot / 2
        cy = top + plot_h - plot_h * p["carried_out"] / peak
        line.append((cx, cy, p))
        parts.append(
            _text(
                cx,
                height - bottom + 16,
                p["month"][2:].replace("-", "."),
                anchor="middle",
                size=10,
                fill="#5d6b7a",
            )
        )
    if line:
        d = " ".join(f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y, _) in enumerate(line))
        parts.append(
            f'<path class="line line-carried_out" d="{d}" stroke="{COLORS["carried_out"]}" '
            f'stroke-width="2.5" fill="none"/>'
        )
        for x, y, p in line:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLORS["carried_out"]}">'
                f"<title>{escape(p['month'])} 结转下月 {p['carried_out']}</title></circle>"
            )
    parts.append(
        f'<path class="axis" d="M{left},{top} V{top + plot_h} H{width - right}" stroke="#5d6b7a" '
        f'fill="none"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    items: list[tuple[str, int]],
    title: str,
    *,
    css_class: str = "chart-bars",
    color: str = "#1f5fa8",
    unit: str = "件",
) -> Markup:
    """Horizontal bars, one per (label, value), longest label first in reading order."""
    row_h, left, right, top = 24, 120, 56, 10
    width = 560
    height = top * 2 + row_h * max(len(items), 1)
    peak = max([v for _, v in items] + [0]) or 1
    parts = _open(width, height, title, css_class)
    if not items:
        parts.append(_text(width / 2, height / 2 + 4, "本期无数据", anchor="middle", fill="#5d6b7a"))
    for i, (label, value) in enumerate(items):
        y = top + i * row_h
        w = (width - left - right) * value / peak
        parts.append(_text(left - 8, y + row_h / 2 + 4, label, anchor="end", size=11))
        parts.append(
            f'<rect class="bar" x="{left}" y="{y + 4:.1f}" width="{max(w, 0):.1f}" height="{row_h - 8}" '
            f'fill="{color}"><title>{escape(label)} {value}{unit}</title></rect>'
        )
        parts.append(_text(left + w + 6, y + row_h / 2 + 4, f"{value}", size=11, fill="#5d6b7a"))
    parts.append("</svg>")
    return Markup("".join(parts))


def grouped_bar_chart(
    groups: list[tuple[str, dict]],
    series: list[tuple[str, str]],
    title: str,
    *,
    css_class: str = "chart-grouped",
) -> Markup:
    """Vertical grouped bars: one group per label, one bar per series key (key, label)."""
    width, height = 560, 260
    left, right, top, bottom = 44, 12, 34, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max([v.get(k, 0) or 0 for _, v in groups for k, _ in series] + [0]))
    parts = _open(width, height, title, css_class)
    parts += _legend(
        [(label, PALETTE[i % len(PALETTE)], "bar") for i, (_, label) in enumerate(series)], left, 16
    )
    for i in range(5):
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(
            f'<path class="grid" d="M{left},{y:.1f} H{width - right}" stroke="#d9e0e8" stroke-width="1"/>'
        )
        parts.append(_text(left - 6, y + 4, f"{value:g}", anchor="end", size=10, fill="#5d6b7a"))
    n = max(len(groups), 1)
    slot = plot_w / n
    bar_w = slot * 0.7 / max(len(series), 1)
    for i, (label, values) in enumerate(groups):
        x0 = left + slot * i + slot * 0.15
        for j, (key, series_label) in enumerate(series):
            value = values.get(key, 0) or 0
            h = plot_h * value / peak
            parts.append(
                f'<rect class="bar bar-{key}" x="{x0 + j * bar_w:.1f}" y="{top + plot_h - h:.1f}" '
                f'width="{bar_w:.1f}" height="{h:.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(label)} {escape(series_label)} {value}</title></rect>"
            )
        parts.append(_text(left + slot * i + slot / 2, height - bottom + 16, label, anchor="middle", size=11))
    parts.append(
        f'<path class="axis" d="M{left},{top} V{top + plot_h} H{width - right}" stroke="#5d6b7a" '
        f'fill="none"/>'
    )
    parts.append("</svg>")
    return Markup("".join(parts))


def category_chart(categories: list[dict], key: str = "new", title: str = "按类别（本月新增）") -> Markup:
    items = sorted(((c["category"], int(c.get(key) or 0)) for c in categories), key=lambda t: -t[1])
    return bar_chart([i for i in items if i[1]] or [], title, css_class="chart-category")


def channel_chart(channels: list[dict], title: str = "按化解渠道") -> Markup:
    return grouped_bar_chart(
        [(c["channel"], c) for c in channels],
        [("received", "受理"), ("handled", "调处"), ("resolved", "成功")],
        title,
        css_class="chart-channel",
    )


def venue_chart(by_venue: dict, title: str = "按发现场所（五进）") -> Markup:
    return bar_chart(list(by_venue.items()), title, css_class="chart-venue", color="#0e7490")
