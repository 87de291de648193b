"""Draw the badge images (red/blue, and their _error variants) into app/static/badge/.

Usage: .venv/bin/python scripts/make_badge_images.py

Run once when the design changes; the PNGs are committed. Needs a Noto CJK font (Debian:
fonts-noto-cjk). The design is our own: a shield with a star and a ribbon beside the unit kind
(党政机关 / 事业单位) and 网站标识; the error variant is grey with an exclamation mark and 标识异常.
Drawn at 4x and scaled down to 220x110 (shown at 110x55, sharp on high-density screens).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "app" / "static" / "badge"
FONT = Path("/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc")
FONT_SC = 2  # the Simplified Chinese face of the collection
SCALE = 4
WIDTH, HEIGHT = 220, 110  # stored size; pages show it at half
GOLD, WHITE, GREY, DARK_GREY = (244, 197, 66), (255, 255, 255), (150, 150, 150), (110, 110, 110)
RED, BLUE = (200, 22, 29), (18, 82, 168)


@dataclass(frozen=True)
class Design:
    name: str
    kind: str
    colour: tuple[int, int, int]
    accent: tuple[int, int, int]  # star and ribbon
    error: bool


DESIGNS = (
    Design("red", "党政机关", RED, GOLD, False),
    Design("blue", "事业单位", BLUE, WHITE, False),
    Design("red_error", "党政机关", RED, WHITE, True),
    Design("blue_error", "事业单位", BLUE, WHITE, True),
)


def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT), size * SCALE, index=FONT_SC)


def px(value: float) -> int:
    return round(value * SCALE)


def shield_outline(left: float, top: float, width: float, height: float) -> list[tuple[int, int]]:
    """A shield: flat top with cut shoulders, straight sides, then curves meeting in a point at the bottom."""
    right, middle, bottom, waist = left + width, left + width / 2, top + height, top + height * 0.55
    curve = [_bezier((right, waist), (right, top + height * 0.88), (middle, bottom), step / 16) for step in range(17)]
    mirrored = [(2 * middle - x, y) for x, y in reversed(curve)]
    shoulders = [(left + width * 0.1, top), (right - width * 0.1, top), (right, top + height * 0.1)]
    points = [*shoulders, *curve, *mirrored, (left, top + height * 0.1)]
    return [(px(x), px(y)) for x, y in points]


def _bezier(start: tuple[float, float], control: tuple[float, float], end: tuple[float, float], t: float):
    """A point of the quadratic Bézier curve from start to end."""
    return tuple((1 - t) ** 2 * a + 2 * (1 - t) * t * b + t**2 * c for a, b, c in zip(start, control, end, strict=True))


def star(cx: float, cy: float, radius: float) -> list[tuple[int, int]]:
    points = []
    for corner in range(10):
        r = radius if corner % 2 == 0 else radius * 0.4
        angle = -math.pi / 2 + corner * math.pi / 5
        points.append((px(cx + r * math.cos(angle)), px(cy + r * math.sin(angle))))
    return points


def draw_shield(draw: ImageDraw.ImageDraw, main: tuple[int, int, int], accent: tuple[int, int, int], error: bool):
    draw.polygon(shield_outline(10, 8, 70, 92), fill=main)
    draw.line([*shield_outline(15, 13, 60, 80), shield_outline(15, 13, 60, 80)[0]], fill=accent, width=px(2))
    if error:
        draw.polygon([(px(39), px(22)), (px(51), px(22)), (px(48), px(60)), (px(42), px(60))], fill=WHITE)
        draw.ellipse((px(40), px(66), px(50), px(76)), fill=WHITE)
        return
    draw.polygon(star(45, 40, 17), fill=accent)
    ribbon = [(4, 62), (86, 62), (80, 70), (86, 78), (4, 78), (10, 70)]  # a banner with notched ends
    draw.polygon([(px(x), px(y)) for x, y in ribbon], fill=accent)
    draw.text((px(45), px(70)), "标识", font=font(11), fill=main, anchor="mm")


def draw_design(design: Design) -> Image.Image:
    main = GREY if design.error else design.colour
    image = Image.new("RGBA", (px(WIDTH), px(HEIGHT)), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, px(WIDTH) - 1, px(HEIGHT) - 1), radius=px(10), fill=WHITE, outline=main, width=px(3))
    draw_shield(draw, main, design.accent, design.error)
    draw.text((px(152), px(38)), design.kind, font=font(27), fill=main, anchor="mm")
    draw.line((px(94), px(58), px(210), px(58)), fill=main, width=px(2))
    caption, colour = ("标识异常", design.colour) if design.error else ("网站标识", DARK_GREY)
    draw.text((px(152), px(80)), caption, font=font(22), fill=colour, anchor="mm")
    return image.resize((WIDTH, HEIGHT), Image.Resampling.LANCZOS)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for design in DESIGNS:
        path = OUT / f"{design.name}.png"
        draw_design(design).save(path, optimize=True)
        print(f"{path.relative_to(ROOT)}  {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
