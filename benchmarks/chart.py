"""chart.svg, drawn by hand: horizontal bar panels, no plotting dependency."""

from __future__ import annotations

import math
from typing import Any

Panel = tuple[str, list[tuple[str, float, str]], str, bool]  # title, rows, value format, log


def colour(key: str) -> str:
    """Green for the raw httpx floor, blue for openwebui-adapters, grey for the peers."""
    if key == "httpx":
        return "#2e7d32"
    if key == "core" or key.endswith("_openwebui") or key.startswith("openwebui_adapters"):
        return "#1565c0"
    return "#9e9e9e"


def names(results: dict[str, Any]) -> dict[str, str]:
    """The contenders' labels as the chart shows them (no markdown backticks)."""
    return {key: label.replace("`", "") for key, label in results["labels"].items()}


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_svg(results: dict[str, Any], panels: list[Panel]) -> str:
    """The panels with rows, one under another; ours in blue, peers in grey, floor in green."""
    panels = [p for p in panels if p[1]]
    width, label_w, bar_w, row_h, title_h, gap = 900, 330, 470, 22, 30, 20
    height = sum(title_h + row_h * len(rows) + gap for _, rows, _, _ in panels) + 40
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">openwebui-adapters benchmarks '
        f"({escape(results['meta']['when'])})</text>",
    ]
    y = 40
    for title, rows, fmt, log in panels:
        svg.append(
            f'<text x="10" y="{y + 18}" font-size="13" font-weight="bold">{escape(title)}</text>'
        )
        y += title_h
        top_value = max(v for _, v, _ in rows) or 1.0
        # On a log scale, bars start one decade below the smallest value so that it still shows.
        low = math.log10(max(min(v for _, v, _ in rows), 1e-9)) - 1
        span = (math.log10(top_value) - low) or 1.0
        for label, value, fill in rows:
            share = (math.log10(max(value, 1e-9)) - low) / span if log else value / top_value
            length = max(1.0, bar_w * share)
            svg.append(
                f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(label)}</text>'
            )
            svg.append(
                f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{row_h - 6}" fill="{fill}"/>'
            )
            svg.append(
                f'<text x="{label_w + length + 4:.1f}" y="{y + 15}">{escape(fmt.format(value))}</text>'
            )
            y += row_h
        y += gap
    svg.append(
        f'<text x="10" y="{height - 10}" fill="#555">green: raw httpx floor; blue: openwebui-adapters; '
        "grey: the libraries' own OpenAI paths</text>"
    )
    svg.append("</svg>")
    return "\n".join(svg)
