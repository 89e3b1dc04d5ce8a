"""Recording blocks of an EyeLink ASC file: START ... END, and the layout of their sample lines."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace

__all__: list[str] = []

_EYE_WORDS = {"LEFT": "L", "RIGHT": "R"}
_DATA_TYPES = ("GAZE", "HREF", "PUPIL")


@dataclass
class _Problems:
    """Lines that could not be used: counted, and the first one kept for the warning."""

    count: int = 0
    first_lineno: int = 0
    first_line: str = ""
    first_reason: str = ""

    def add(self, lineno: int, line: str, reason: str, count: int = 1) -> None:
        """Record ``count`` bad lines, the first of which is ``line`` at ``lineno``."""
        if self.count == 0 or lineno < self.first_lineno:
            self.first_lineno, self.first_line, self.first_reason = lineno, line, reason
        self.count += count


@dataclass(frozen=True)
class Layout:
    """The fields of one block's sample lines, in file order (EyeLink manual, "Samples").

    ``time``; per eye ``x``, ``y``, ``pupil``; per eye ``xv``, ``yv``
    (``VEL``); ``x_res``, ``y_res`` (``RES``); ``input`` (``INPUT``); the
    corneal-reflection flags (``...``); the remote-mode target
    ``target_x``, ``target_y``, ``target_distance`` and its flags
    (``HTARGET``).
    """

    eyes: str
    velocity: bool = False
    resolution: bool = False
    input: bool = False
    flags: bool = True
    target: bool = False

    @property
    def fields(self) -> list[str]:
        """Names of every field of a sample line, in file order."""
        cols = ["time"]
        cols += [f"{name}_{eye}" for eye in self.eyes for name in ("x", "y", "pupil")]
        if self.velocity:
            cols += [f"{name}_{eye}" for eye in self.eyes for name in ("xv", "yv")]
        if self.resolution:
            cols += ["x_res", "y_res"]
        if self.input:
            cols += ["input"]
        if self.flags:
            cols += ["flags"]
        if self.target:
            cols += ["target_x", "target_y", "target_distance", "target_flags"]
        return cols

    @property
    def numeric(self) -> list[int]:
        """Positions of the numeric fields (all but the flags)."""
        return [i for i, name in enumerate(self.fields) if not name.endswith("flags")]


@dataclass
class _Block:
    """One ``START`` ... ``END`` recording block."""

    index: int
    start: float
    lineno: int
    eyes: str
    end: float = math.nan
    end_lineno: float = math.inf
    sample_rate_hz: float = math.nan
    pupil_type: str = ""
    samples_spec: list[str] = field(default_factory=list)
    samples_lineno: int = 0
    events_spec: list[str] = field(default_factory=list)
    closed: bool = False
    #: Decided at the block's first sample line (whether it has flags).
    layout: Layout | None = None
    #: Set when the sample lines disagree with the SAMPLES line (for the reader's warning).
    layout_note: str = ""
    n_samples: int = 0
    first_time: float = math.nan
    last_time: float = math.nan

    @property
    def data_type(self) -> str:
        """``GAZE``, ``HREF`` or ``PUPIL``: what the x and y columns hold ("" if unknown)."""
        for spec in (self.samples_spec, self.events_spec):
            for word in spec:
                if word in _DATA_TYPES:
                    return word
        return ""

    def setting(self, name: str) -> str:
        """The word after ``name`` on the ``SAMPLES`` (else ``EVENTS``) line, e.g. ``FILTER``."""
        for spec in (self.samples_spec, self.events_spec):
            if name in spec[:-1]:
                return spec[spec.index(name) + 1]
        return ""


def eyes_of(tokens: list[str]) -> str:
    """``"L"``, ``"R"`` or ``"LR"`` from the ``LEFT``/``RIGHT`` words of a line."""
    return "".join(_EYE_WORDS[t] for t in tokens if t in _EYE_WORDS)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return token == "."
    return True


#: Optional columns a SAMPLES line may declare, in the order they are given up when
#: its sample lines turn out not to carry them (remote-mode targets first).
_OPTIONS = ("target", "input", "resolution", "velocity")
_OPTION_WORDS = {"target": "HTARGET", "input": "INPUT", "resolution": "RES", "velocity": "VEL"}


def _declared(block: _Block) -> Layout:
    spec = block.samples_spec
    return Layout(
        eyes=block.eyes or "L",
        velocity="VEL" in spec,
        resolution="RES" in spec,
        input="INPUT" in spec,
        flags=False,
        target="HTARGET" in spec,
    )


def _with_flags(layout: Layout, tokens: list[str]) -> Layout:
    """``layout`` with flags if the field after its numbers is a flags word."""
    n_numbers = len(layout.fields) - (4 if layout.target else 0)
    flags = len(tokens) > n_numbers and not _is_number(tokens[n_numbers])
    return replace(layout, flags=flags)


def _fits(layout: Layout, tokens: list[str]) -> bool:
    """Whether ``tokens`` hold exactly the fields of ``layout`` (numbers where numbers go)."""
    fields = layout.fields
    if layout.target and len(tokens) == len(fields) - 1:
        fields = fields[:-1]  # target flags may be absent
    if len(tokens) != len(fields):
        return False
    return all(
        name.endswith("flags") or _is_number(t) for name, t in zip(fields, tokens, strict=True)
    )


def decide_layout(block: _Block, tokens: list[str], lineno: int = 0) -> Layout:
    """The layout of a block's sample lines, from its ``SAMPLES`` line and first sample.

    Whether the lines carry flags is read from the first line itself: the
    field after the numbers is a flags word (``...``) or absent. When the
    first line is too short for the columns the ``SAMPLES`` line declares
    (e.g. ``HTARGET`` without target columns), the layout is read from the
    line: the fewest declared columns are given up that make it fit, and
    ``block.layout_note`` says so (the reader warns once per block).
    """
    declared = _declared(block)
    layout = _with_flags(declared, tokens)
    if len(tokens) >= len(layout.fields) - (1 if layout.target else 0):
        return layout
    on = [name for name in _OPTIONS if getattr(declared, name)]
    for n_dropped in range(1, len(on) + 1):
        for dropped in itertools.combinations(on, n_dropped):
            kept = Layout(
                eyes=declared.eyes,
                velocity=declared.velocity and "velocity" not in dropped,
                resolution=declared.resolution and "resolution" not in dropped,
                input=declared.input and "input" not in dropped,
                flags=False,
                target=declared.target and "target" not in dropped,
            )
            candidate = _with_flags(kept, tokens)
            if _fits(candidate, tokens):
                words = " ".join(_OPTION_WORDS[name] for name in dropped)
                block.layout_note = (
                    f"the SAMPLES line at line {block.samples_lineno} (recording block "
                    f"{block.index}) "
                    f"declares {words} columns that its sample lines do not carry (first "
                    f"sample at line {lineno}): reading the samples as "
                    f"'{' '.join(candidate.fields)}'"
                )
                return candidate
    return layout


def start_block(
    blocks: list[_Block],
    parts: list[str],
    lineno: int,
    line: str,
    problems: _Problems,
    oddities: list[str],
) -> _Block | None:
    """Open a new block at a ``START`` line; None if the line is malformed."""
    try:
        start = float(parts[1])
    except (IndexError, ValueError):
        problems.add(lineno, line, "START without a time stamp")
        return None
    if blocks and not blocks[-1].closed:
        previous = blocks[-1]
        previous.end_lineno = lineno
        oddities.append(
            f"recording block {previous.index} has no END line before the START at "
            f"line {lineno}; it ends at its last sample"
        )
    block = _Block(index=len(blocks), start=start, lineno=lineno, eyes=eyes_of(parts[2:]))
    blocks.append(block)
    return block


def block_line(block: _Block | None, tok: str, parts: list[str], lineno: int) -> bool:
    """Apply a ``PUPIL``/``SAMPLES``/``EVENTS``/``END`` line to the open block; False if none."""
    if block is None or block.closed:
        return False
    if tok == "PUPIL" and len(parts) > 1:
        block.pupil_type = parts[1]
    elif tok in ("SAMPLES", "EVENTS"):
        spec = parts[1:]
        if tok == "SAMPLES":
            block.samples_spec = spec
            block.samples_lineno = lineno
        else:
            block.events_spec = spec
        if "RATE" in spec[:-1] and math.isnan(block.sample_rate_hz):
            try:
                block.sample_rate_hz = float(spec[spec.index("RATE") + 1])
            except ValueError:
                return False
        if tok == "SAMPLES" and eyes_of(spec):
            block.eyes = eyes_of(spec)
    elif tok == "END":
        try:
            block.end = float(parts[1])
        except (IndexError, ValueError):
            return False
        block.closed = True
        block.end_lineno = lineno
    return True


def nominal_layout(block: _Block) -> Layout:
    """The block's layout, or for a block without samples the one its ``SAMPLES`` line implies."""
    if block.layout is not None:
        return block.layout
    spec = block.samples_spec
    return Layout(
        eyes=block.eyes,
        velocity="VEL" in spec,
        resolution="RES" in spec,
        input="INPUT" in spec,
        flags=not spec or "CR" in spec,
        target="HTARGET" in spec,
    )


def fill_block(block: _Block) -> None:
    """Complete a block without ``END`` or ``RATE`` from its samples."""
    if math.isnan(block.end):
        block.end = block.last_time if not math.isnan(block.last_time) else block.start
    if math.isnan(block.sample_rate_hz) and block.n_samples > 1:
        step = (block.last_time - block.first_time) / (block.n_samples - 1)
        if step > 0:
            block.sample_rate_hz = 1000.0 / step
