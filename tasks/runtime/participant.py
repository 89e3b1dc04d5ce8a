"""A simulated participant: gaze (through the simulated tracker) and answers from a planted map.

Its response model, shared by every task (each task documents what it puts in its
requests):

* Reaction times are log-normal: median ``rt_median_s`` (0.8 s), log-SD
  ``rt_sigma`` (0.35), floored at 0.15 s (Luce 1986, *Response Times*: right-skewed,
  roughly log-normal choice RTs). ``"continue"`` requests (instructions, breaks)
  are answered after ``continue_s`` (0.4 s).
* Keys and choices: with ``m`` possible answers and the request's ``evidence`` e
  (0..1, how much the stimulus supports the right answer as the task computes it
  from the planted map), the right answer comes with probability
  ``1/m + (1 - 1/m) * e`` (chance at e = 0, always right at e = 1); otherwise one of
  the wrong answers, uniformly. Without a right answer, a uniform pick; without an
  ``evidence``, e = 1. A choice with option boxes is answered by a click at the
  chosen box's centre, otherwise by its number key.
* Ratings on ``n`` points: ``1 + (n - 1) * e`` plus Gaussian noise of SD
  ``rating_sd`` (0.6 points), rounded and clipped to the scale (without an
  ``evidence``, e = 0.5: the middle of the scale).
* Clicks: a pixel drawn with probability proportional to the request's ``target``
  map (the searched region), or else to the planted map of the image, plus Gaussian
  motor noise of SD ``click_sd_deg`` (0.3 degrees), converted to screen pixels
  through the image placement (the point is uniform inside the drawn pixel, so
  without noise the click maps back to the drawn pixel).
* Times: an answer is given at its model time (``Answer.time_s`` = onset + RT),
  between frames like a real key press, and returned at the first frame after it.
* Gaze: the :class:`eyetracking.SimulatedObserver` of the planted maps drives the
  simulated tracker; :meth:`look_for` replaces the priority of an image for the next
  trial (a searched target's region).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from eyetracking.trackers import SimulatedObserver

from .responses import Answer, ResponseRequest

__all__ = ["SimulatedParticipant"]

#: Tags this participant's random streams apart from the runtime's, which are seeded
#: with the same session seed (the schedule: ``seed``; a trial's ``ctx.rng``:
#: ``(seed, trial_id)``): the answers must not reuse the draws that, say, placed the
#: right option.
_STREAM = 0x5E1EC7


class SimulatedParticipant:
    """A simulated participant whose gaze and answers follow planted maps.

    Parameters
    ----------
    maps : mapping of str to ndarray of shape (H, W)
        The planted ("true") selectivity map of each image, in image pixels,
        non-negative (normalised here).
    seed : int
        Seed of every random draw (answers, times, clicks).
    px_per_deg : float
        Screen pixels per degree (for the motor noise of clicks).
    rt_median_s, rt_sigma, continue_s, rating_sd, click_sd_deg : float
        Parameters of the response model (module docstring).
    """

    simulated = True

    def __init__(
        self,
        maps: Mapping[str, Any],
        *,
        seed: int,
        px_per_deg: float = 30.0,
        rt_median_s: float = 0.8,
        rt_sigma: float = 0.35,
        continue_s: float = 0.4,
        rating_sd: float = 0.6,
        click_sd_deg: float = 0.3,
    ) -> None:
        self.observer = SimulatedObserver(dict(maps))
        self.seed = int(seed)
        self.px_per_deg = float(px_per_deg)
        self.rt_median_s = float(rt_median_s)
        self.rt_sigma = float(rt_sigma)
        self.continue_s = float(continue_s)
        self.rating_sd = float(rating_sd)
        self.click_sd_deg = float(click_sd_deg)
        self._rng = np.random.default_rng((self.seed, _STREAM))
        self._pending: Answer | None = None
        self._focused: set[str] = set()

    def parameters(self) -> dict[str, Any]:
        """The model's parameters, for ``session.json``."""
        return {
            "kind": "simulated",
            "seed": self.seed,
            "rt_median_s": self.rt_median_s,
            "rt_sigma": self.rt_sigma,
            "continue_s": self.continue_s,
            "rating_sd": self.rating_sd,
            "click_sd_deg": self.click_sd_deg,
            "observer": self.observer.parameters(),
        }

    def reseed(self, trial_id: int) -> None:
        """Draw a trial's answers from its own stream, so a resumed session answers alike.

        The stream depends on the seed and ``trial_id`` only (not on the trials
        before), and differs from the trial's ``ctx.rng``; an answer still pending
        from before is dropped.
        """
        self._rng = np.random.default_rng((self.seed, int(trial_id), _STREAM))
        self._pending = None

    def planted(self, image_id: str) -> NDArray[np.float64]:
        """The planted map of an image (sums to 1)."""
        return self.observer.planted(image_id)

    def look_for(self, image_id: str, priority: NDArray[np.float64] | None) -> None:
        """Make the gaze on ``image_id`` follow ``priority`` in this trial (None: the planted
        map). The runtime calls :meth:`look_back` once the trial's recording has stopped
        (the simulated tracker makes the trial's gaze then)."""
        self.observer.focus(image_id, priority)
        if priority is not None:
            self._focused.add(str(image_id))

    def look_back(self) -> None:
        """Every image's gaze follows its planted map again (after a trial that steered it)."""
        for image_id in self._focused:
            self.observer.focus(image_id, None)
        self._focused.clear()

    # Responder protocol --------------------------------------------------------------
    def begin(self, request: ResponseRequest, onset_s: float) -> None:
        """Decide the answer and its time now, from the model."""
        if request.purpose == "continue":
            delay = self.continue_s
        else:
            delay = max(0.15, self.rt_median_s * math.exp(self.rt_sigma * self._rng.normal()))
        self._pending = self._decide(request, onset_s + delay)

    def poll(self, now_s: float) -> Answer | None:
        """The decided answer once its time has come."""
        if self._pending is not None and now_s >= self._pending.time_s:
            answer, self._pending = self._pending, None
            return answer
        return None

    # the model -----------------------------------------------------------------------
    def _pick(self, n: int, correct: int | None, evidence: float | None) -> int:
        if correct is None or n < 2:
            return int(self._rng.integers(n))
        e = min(max(evidence if evidence is not None else 1.0, 0.0), 1.0)
        if self._rng.random() < 1.0 / n + (1.0 - 1.0 / n) * e:
            return int(correct)
        wrong = [i for i in range(n) if i != correct]
        return int(wrong[self._rng.integers(len(wrong))])

    def _decide(self, request: ResponseRequest, time_s: float) -> Answer:
        if request.kind == "keys":
            keys = list(request.keys)
            correct = keys.index(request.correct) if request.correct in keys else None
            index = self._pick(len(keys), correct, request.evidence)
            return Answer(time_s=time_s, key=keys[index])
        if request.kind == "choice":
            n = len(request.options)
            index = self._pick(n, request.correct, request.evidence)
            return self._option(request, index, time_s)
        if request.kind == "rating":
            n = len(request.options)
            e = min(max(request.evidence if request.evidence is not None else 0.5, 0.0), 1.0)
            value = 1 + (n - 1) * e + self.rating_sd * self._rng.normal()
            index = int(np.clip(round(value), 1, n)) - 1
            return self._option(request, index, time_s)
        return self._click(request, time_s)

    def _option(self, request: ResponseRequest, index: int, time_s: float) -> Answer:
        if request.boxes:
            left, top, width, height = request.boxes[index]
            return Answer(time_s=time_s, x_px=left + width / 2.0, y_px=top + height / 2.0)
        return Answer(time_s=time_s, key=str(index + 1))

    def _click(self, request: ResponseRequest, time_s: float) -> Answer:
        place = request.placement
        if place is None:
            raise ValueError("A simulated click needs the image's placement in the request.")
        if request.target is not None:
            weights = np.asarray(request.target, dtype=np.float64)
        elif request.image_id is not None:
            weights = self.planted(request.image_id)
        else:
            raise ValueError("A simulated click needs a target map or an image id.")
        flat = np.clip(weights, 0, None).ravel()
        total = flat.sum()
        if not total > 0:
            raise ValueError("A simulated click's target map has no positive value.")
        height, width = weights.shape
        index = int(self._rng.choice(flat.size, p=flat / total))
        row, col = divmod(index, width)
        # a uniform point inside the chosen image pixel, then on the screen, plus motor noise
        u, v = col + self._rng.random() - 0.5, row + self._rng.random() - 0.5
        x = place.left_px + (u + 0.5) * place.width_px / width - 0.5
        y = place.top_px + (v + 0.5) * place.height_px / height - 0.5
        noise = self.click_sd_deg * self.px_per_deg * self._rng.normal(size=2)
        return Answer(time_s=time_s, x_px=float(x + noise[0]), y_px=float(y + noise[1]))
