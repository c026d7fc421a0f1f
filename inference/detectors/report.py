"""docs/pulsenet.md, written by `manage.py pulsenet_evaluate`."""

from __future__ import annotations

from typing import Any, NamedTuple

from .alarms import DRIFT_REARM_DAYS, RISE_FURTHER, RISE_SETTLED, RISE_SETTLED_NIGHTS
from .evaluation import TestWearer, markdown_table, people_interval, person_of
from .features import REST_Z, RISE_FROM_REST_BPM, RISE_WEIGHTS, STEADY_REST_BPM
from .pipeline import RISE_LINE
from .pulsenet import LoadedModel
from .schema import CYCLING_STILL_MINUTES, DRIFT

SHIPPED = "Rules + PulseNet (shipped)"
APPLE = "Apple-style rule"
ABLATION = ("Rule floor alone", "Rules + personal baselines (no model)", SHIPPED)
RESAMPLES = 2000  # beds of people drawn again, for the real bed's intervals


def _fmt(v: float | None, digits: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


class Target(NamedTuple):
    """One row of a bed's targets table."""

    label: str
    measured: str
    met: bool

    def row(self) -> str:
        return f"| {self.label} | {self.measured} | {'yes' if self.met else 'no'} |"


def target_rows(res: dict[str, dict[str, dict[str, Any]]], bed: list[TestWearer]) -> list[Target]:
    """The issue's targets for the shipped detector on one bed, each measured and judged."""
    ours, apple = res[SHIPPED], res[APPLE]
    rows = []
    for kind in ("tachycardia", "bradycardia", "hr_spike", "all acute"):
        r = ours.get(kind)
        if not r or not r["events"]:
            continue
        rows.append(Target(f"{kind}: recall >= 0.95", _fmt(r["recall"], 3), (r["recall"] or 0) >= 0.95))
        delay = r["delay_p50"]
        rows.append(Target(f"{kind}: median delay < 3 min", f"{_fmt(delay, 1)} min", delay is not None and delay < 3))
        fa, apple_fa = r["false_alarms"] or 0.0, (apple.get(kind) or {}).get("false_alarms")
        rows.append(Target(f"{kind}: false alarms <= 0.05 / wearer-day", _fmt(fa, 3), fa <= 0.05))
        if apple_fa is not None and apple_fa > 0.05:
            rows.append(
                Target(
                    f"{kind}: no more false alarms than Apple-style ({_fmt(apple_fa, 3)})", _fmt(fa, 3), fa <= apple_fa
                )
            )
            if kind == "all acute":
                rows += false_alarms_day_by_day(res, bed)
    r = ours.get(DRIFT)
    if r and r["events"]:
        rows.append(Target("drift: >= 80% caught within 3 days", _fmt(r["recall"], 3), (r["recall"] or 0) >= 0.8))
        fa = r["false_alarms"] or 0.0
        rows.append(Target("drift: <= 1 false alarm / wearer-month", _fmt(fa, 2), fa <= 1))
    return rows


def _targets(res: dict[str, dict[str, dict[str, Any]]], bed: list[TestWearer]) -> list[str]:
    return ["| target | measured | met? |", "| --- | --- | --- |", *(t.row() for t in target_rows(res, bed))]


class DayByDay(NamedTuple):
    """One wearer's acute false alarms, read against the Apple-style rule's day by day."""

    apple_days: int  # untouched days the Apple-style rule raised a false alarm on
    apple_there: int  # its false alarms on them
    ours_there: int  # ours on them
    ours_elsewhere: int  # ours on the other untouched days
    other_days: int  # how many those are


def _day_by_day(res: dict[str, dict[str, Any]], bed: list[TestWearer]) -> list[DayByDay]:
    out = []
    for w, ours, apple in zip(bed, res[SHIPPED]["_false_days"], res[APPLE]["_false_days"], strict=True):
        its = set(apple)
        there = sum(d in its for d in ours)
        out.append(DayByDay(len(its), len(apple), there, len(ours) - there, len(w.untouched_days) - len(its)))
    return out


def false_alarms_day_by_day(res: dict[str, dict[str, Any]], bed: list[TestWearer]) -> list[Target]:
    """The false-alarm target read day by day: on the untouched days the Apple-style rule raises a
    false alarm, no more than it; on the others, at most 0.05 per wearer-day."""
    days, apple_there, ours_there, ours_elsewhere, other_days = (
        sum(c) for c in zip(*_day_by_day(res, bed), strict=True)
    )
    rate = ours_elsewhere / other_days if other_days else 0.0
    return [
        Target(
            f"all acute, on the {days} days the Apple-style rule raised a false alarm: no more than its {apple_there}",
            str(ours_there),
            ours_there <= apple_there,
        ),
        Target(
            f"all acute, on the other {other_days} untouched days: false alarms <= 0.05 / wearer-day",
            _fmt(rate, 3),
            rate <= 0.05,
        ),
    ]


def figures_with_intervals(res: dict[str, dict[str, Any]], bed: list[TestWearer]) -> list[str]:
    """The real bed's figures against their targets, each with the interval people_interval gives."""
    per_wearer, people = res[SHIPPED]["_per_wearer"], [person_of(w) for w in bed]
    days = [len(w.untouched_days) for w in bed]

    def counts(kind: str, what: str) -> tuple[list[float], list[float]]:
        scores = [s[kind] for s in per_wearer]
        if what == "recall":
            return [s.caught for s in scores], [s.events for s in scores]
        return [s.false_on_untouched for s in scores], days

    day_by_day = _day_by_day(res, bed)
    rows = [
        ("tachycardia recall", *counts("tachycardia", "recall"), 1.0, ">= 0.95"),
        ("all acute recall", *counts("all acute", "recall"), 1.0, ">= 0.95"),
        ("all acute false alarms / wearer-day, all untouched days", *counts("all acute", "false"), 1.0, "<= 0.05"),
        (
            "all acute false alarms / wearer-day, the days the Apple-style rule raised none",
            [w.ours_elsewhere for w in day_by_day],
            [w.other_days for w in day_by_day],
            1.0,
            "<= 0.05",
        ),
        ("drift recall", *counts(DRIFT, "recall"), 1.0, ">= 0.80"),
        ("drift false alarms / wearer-month", *counts(DRIFT, "false"), 30.0, "<= 1"),
    ]
    lines = [
        f"The bed has {len(set(people))} people; another {len(set(people))} like them would give other figures. Below,",
        f"each figure with the middle 95 % of it over {RESAMPLES:,} beds of as many people drawn again with",
        "replacement (people, not draws: a person's draws share one real trace). Where the interval spans",
        "the target, this bed cannot tell whether the target is met.",
        "",
        "| figure (shipped detector) | measured | 95 % interval | target |",
        "| --- | ---: | ---: | --- |",
    ]
    for label, num, den, per, target in rows:
        interval = people_interval(people, num, den, per=per, resamples=RESAMPLES)
        measured = sum(num) / sum(den) * per if sum(den) else None
        span = "n/a" if interval is None else f"{interval[0]:.3f}-{interval[1]:.3f}"
        lines.append(f"| {label} | {_fmt(measured, 3)} | {span} | {target} |")
    return lines


def in_short(results: dict[str, dict[str, dict[str, Any]]], beds: dict[str, list[TestWearer]]) -> list[str]:
    """The report's first lines: per bed, how many targets are met, which are not, and what the
    shipped detector does against the Apple-style rule, in plain words."""
    lines = []
    for name in sorted(results, key=lambda n: n != "stanford"):  # the real people first
        res, bed = results[name], beds[name]
        rows = target_rows(res, bed)
        missed = [t for t in rows if not t.met]
        if name == "stanford":
            title = f"Real traces ({len({person_of(w) for w in bed})} Fitbit wearers, events injected into their own heart rate)"
        else:
            title = f"Held-out synthetic wearers ({len(bed)})"
        acute, apple, drift = res[SHIPPED]["all acute"], res[APPLE]["all acute"], res[SHIPPED][DRIFT]
        lines.append(f"- **{title}**: {len(rows) - len(missed)} of {len(rows)} targets met.")
        lines.append(
            f"  Acute events ({_kinds_in(bed)}): {_caught(acute)} (the Apple-style rule: {_caught(apple)}); false alarms "
            f"{_fmt(acute['false_alarms'], 3)} a wearer-day{_every(acute['false_alarms'])} (the Apple-style rule: "
            f"{_fmt(apple['false_alarms'], 3)}{_every(apple['false_alarms'])})."
        )
        if drift["events"]:
            lines.append(
                f"  Illness-like drifts in resting heart rate: {_share(drift['recall'])} caught within 3 days, "
                f"{_fmt(drift['false_alarms'])} false alarms a wearer-month."
            )
        if missed:
            lines.append("  Not met: " + "; ".join(f"{t.label} (measured {t.measured})" for t in missed) + ".")
    return lines


PLAIN_KINDS = {
    "tachycardia": "a racing heart at rest",
    "bradycardia": "a slow heart",
    "hr_spike": "a sudden jump",
    "hrv_collapse": "HRV collapsing",
    "desaturation": "low SpO2",
}


def _kinds_in(bed: list[TestWearer]) -> str:
    present = {e.kind for w in bed for e in w.events}
    return ", ".join(plain for kind, plain in PLAIN_KINDS.items() if kind in present)


def _caught(r: dict[str, Any]) -> str:
    if r["delay_p50"] is None:
        return "none caught"
    return f"{_share(r['recall'])} caught, {r['delay_p50']:.0f} min after the onset at the median"


def _share(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.0f} %"


def _every(rate: float | None) -> str:
    return f", one every {1 / rate:.0f} days" if rate else ""


def drifts_per_person(res: dict[str, dict[str, Any]]) -> list[str]:
    """The shipped detector's drifts caught and drift false alarms, per person (draws pooled)."""
    per = res[SHIPPED]["_per_person"]
    lines = [
        "Where drifts are missed, and where drift false alarms come from: one person or many.",
        "",
        "| person | drifts caught | drift false alarms / wearer-month |",
        "| --- | ---: | ---: |",
    ]
    for person in sorted(per, key=lambda p: (per[p]["drifts_caught"] / max(1.0, per[p]["drifts"]), p)):
        v = per[person]
        lines.append(f"| {person} | {v['drifts_caught']:.0f} of {v['drifts']:.0f} | {_fmt(v['drift_false_alarms'])} |")
    return lines


def _ablation(res: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    lines = [
        "| configuration | acute recall | acute precision | acute false alarms / wearer-day | drift recall | drift false alarms / wearer-month |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in ABLATION:
        a, d = res[name]["all acute"], res[name][DRIFT]
        lines.append(
            f"| {name} | {_fmt(a['recall'])} | {_fmt(a['precision'])} | {_fmt(a['false_alarms'], 3)} "
            f"| {_fmt(d['recall'])} | {_fmt(d['false_alarms'])} |"
        )
    return lines


def _per_person(res: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    ours, apple = res[SHIPPED]["_per_person"], res[APPLE]["_per_person"]

    def raising(per: dict[str, dict[str, Any]]) -> int:
        return sum(1 for p in per.values() if (p["false_alarms"] or 0) > 0)

    def top_share(per: dict[str, dict[str, Any]]) -> tuple[str, float]:
        counts = {p: (v["false_alarms"] or 0) * v["untouched_days"] for p, v in per.items()}
        top = max(counts, key=lambda p: counts[p])
        return top, counts[top] / max(1e-9, sum(counts.values()))

    (ours_top, ours_share), (apple_top, apple_share) = top_share(ours), top_share(apple)
    lines = [
        "Per wearer-day, on each person's untouched days (all draws): where false alarms come from, one",
        "person or many.",
        f"The shipped detector raises some for {raising(ours)} of {len(ours)} people ({ours_share:.0%} of them {ours_top}'s),",
        f"the Apple-style rule for {raising(apple)} ({apple_share:.0%} of them {apple_top}'s).",
        "",
        f"| person | untouched days | {SHIPPED} | {APPLE} |",
        "| --- | ---: | ---: | ---: |",
    ]
    for person in sorted(ours, key=lambda p: -(ours[p]["false_alarms"] or 0)):
        days = ours[person]["untouched_days"]
        lines.append(
            f"| {person} | {days:.0f} | {_fmt(ours[person]['false_alarms'], 3)} | {_fmt(apple[person]['false_alarms'], 3)} |"
        )
    return lines


def report_markdown(
    results: dict[str, dict[str, dict[str, dict[str, Any]]]],
    beds: dict[str, list[TestWearer]],
    model: LoadedModel,
    *,
    seconds: float,
    seed: int,
) -> str:
    meta = model.meta
    out = [
        "# PulseNet evaluation",
        "",
        "Written by `make pulsenet-evaluate` (`manage.py pulsenet_evaluate`); numbers below are from its last run",
        f"(test-bed seed {seed}, {seconds:.0f} s on this 2-core machine). Do not edit by hand: rerun it.",
        "",
        "## In short",
        "",
        *in_short(results, beds),
        "",
        "Each figure is explained below; on the real traces, 'How sure these figures are' gives how far",
        "they would move with other people like them.",
        "",
        "## The model",
        "",
        f"- Checkpoint: PulseNet {meta.get('version')} (training seed {meta.get('seed')}, "
        f"{meta.get('training_seconds')} s to train with torch {meta.get('torch')}).",
        f"- Data: {meta.get('data')}",
        "- Thresholds (set on synthetic validation wearers): "
        + ", ".join(f"{k} {v:.3f}" for k, v in sorted(model.thresholds.items()))
        + ". `tachycardia_without_motion` applies to minutes with no motion reading (such as the real bed"
        " below, a Fitbit export) while the wearer could be cycling (a step within the last"
        f" {CYCLING_STILL_MINUTES // 60} hours, or no step count at all): there, cycling without steps looks like"
        " tachycardia at rest. It does not apply to a minute whose heart rate rose all at once from the wearer's"
        f" steady usual rate (at least {RISE_FROM_REST_BPM:.0f} bpm over the median of the window's earlier minutes,"
        f" their spread at most {STEADY_REST_BPM:.0f} bpm and their median at most {REST_Z:.0f} standard deviation"
        " over the usual), nor to the minutes after it while the rate stays over the usual line: a bike ride"
        " seldom starts like that.",
        "- Inputs: each minute's last 15 minutes of baseline-normalised channels, how much of the baseline is",
        "  the wearer's own, and how long the wearer has been still (minutes since the last step, up to 12",
        "  hours): after hours without a step (asleep, lying down) a racing heart is not a bike ride.",
        "  Not the clock (PulseNet 1.1 had the hour of the day): a night-shift worker's 3 am is someone else's",
        "  afternoon, and the personal baseline already learns each wearer's own hours.",
        "- Drift: the drift head (5 nights of resting heart rate, HRV and steps against the wearer's weeks",
        "  before) or, beside it, the rise in nightly resting heart rate: the last three nights' standard",
        "  scores (each night against its own 4 weeks before), weighted "
        + ":".join(f"{w:g}" for w in RISE_WEIGHTS)
        + " toward the latest and scaled to",
        f"  one standard deviation, reported at {RISE_LINE}: once in {DRIFT_REARM_DAYS} days, or again sooner when the",
        f"  rate has settled back under {RISE_SETTLED:g} for {RISE_SETTLED_NIGHTS} nights (a new drift) or the rise"
        f" climbs {RISE_FURTHER:g} over the one",
        "  reported (the same drift, worse). The shipped configuration and the baselines-only one both run",
        "  the rise; the rule floor alone does not.",
        "- Reproducibility: training is seeded and reproduces a checkpoint bit for bit on the machine that",
        "  trained it. On another CPU of the same kind, floating-point rounding differs and so do the weights: a",
        "  retrain of PulseNet 1.1 on a later session's machine moved real-bed tachycardia recall 0.63 -> 0.52,",
        "  spike false alarms 0.069 -> 0.057 and all-acute recall 0.88 -> 0.85 / false alarms 0.112 -> 0.097, the",
        "  synthetic bed within 0.01. Differences of that size between two checkpoints are noise, not progress.",
        "  Each head's initial weights come from its own seeded stream, so a change to one does not reshuffle",
        "  the other.",
        "",
        "## How it is measured",
        "",
        "- **Events**: anomalies injected with a label (kind, onset, end). Caught = a detection of that kind",
        "  (tachycardia and hr_spike stand in for each other: both page as a high heart rate) between onset",
        "  and 30 minutes after the end; a drift must be caught within 3 days of its onset.",
        "- **Precision**: detections that match an injected event of their kind, over all detections. A",
        "  racing heart pages once, under the kind that fired first (a sudden spike, if it began with a",
        "  jump), so a kind's precision counts the detections reported under it: the baselines' tachycardia",
        "  detections are mostly the rises that did not begin with a jump, and so mostly false.",
        "- **Delay**: `detected_at` (the last sample seen when it fired) minus the onset; minutes, days for drift.",
        "- **False alarms**: detections that match nothing, on days with no injected event (a drift's days,",
        "  the day before and the week after are not untouched), per wearer-day (acute) or per wearer-month",
        "  (drift). Where the Apple-style rule itself raises more than 0.05 a wearer-day, the target asks for",
        "  no more than it on the same days; the targets table also reads that day by day: on the untouched",
        "  days the Apple-style rule raises a false alarm (real rises at rest, which any rule of its kind",
        "  flags), no more than it, and on the other untouched days at most 0.05 per wearer-day.",
        "- **Detectors**, run on the same data in the same run: the Apple-style rule (heart rate above 120 or",
        "  below 40 for 10 minutes with no steps), a rolling per-hour z-score (each minute against the same",
        "  hour of the previous 7 days, |z| > 3 for 5 minutes, and for SpO2/HRV where present), a CuSum on",
        "  daily resting heart rate against the previous 28 days, and our pipeline in three configurations",
        "  (the ablation).",
        "",
    ]
    for name, res in results.items():
        bed = beds[name]
        untouched = sum(len(w.untouched_days) for w in bed)
        if name == "stanford":
            people = len({person_of(w) for w in bed})
            draws = len(bed) // max(1, people)
            out += [
                "## Real traces: Stanford/Mishra 2020 Fitbit wearers with injected anomalies",
                "",
                f"{people} real people (heart rate and steps, 1 per minute), anomalies injected {draws} times over,",
                f"independently, and pooled: {sum(len(w.events) for w in bed)} injected events (tachycardia, bradycardia,",
                "sudden spikes at rest on about a third of the days; one illness-like drift per person per draw),",
                f"{untouched} untouched wearer-days (a day counts once per draw). Evaluation only: this set never",
                "trains or calibrates anything.",
                "",
                "These people carry real illnesses of their own (see ../shared/data/README.md), which show up here",
                "as drift 'false alarms', and as raised heart rates at rest that count here as acute false alarms.",
                "",
                "What has been looked at on this bed, so its figures are not fully blind estimates:",
                "- PulseNet 1.0: its spike false alarms, most of them a heart rate already high and jumping about at",
                "  rest for minutes. Since then a sudden spike must jump 2.5 standard deviations over the minutes",
                "  before it, not only over the usual (spike false alarms 0.143 -> 0.076 per wearer-day, recall",
                "  unchanged at 0.96; nothing changed on the synthetic bed).",
                "- PulseNet 1.1: its drift misses (a report a few days before the injected onset had silenced drift",
                "  for ten days). The drift alarm's re-arming rules were then chosen on a synthetic development bed.",
                "- PulseNet 1.3: the drift head's score on each night after each injected onset. It showed scores",
                "  falling on nights when the day's steps were normal, and runs of nights broken by a night without",
                "  data. Both led to changes (below, under How these figures came about), chosen on the synthetic development bed.",
                "- PulseNet 1.3 with one alarm for a high heart rate: this bed's per-kind false alarms (the all-acute",
                "  ones were the sum of the tachycardia and spike ones), and after that change each false alarm left",
                "  (person, hour, heart rate, minutes since a step), which showed a week without step counts.",
                "- Since, this bed's drift injections (where the misses were: two in places without data) and, on",
                "  other draws (seeds 2000-2004), the drift head's score on each missed drift's nights, the spike",
                "  false alarms' jumps (median 38 bpm; steps in the next 2 minutes after 11 of 117) and whether",
                "  tachycardia alarms, with the no-motion threshold lifted, began after 10 minutes without a step",
                "  (405 of the 411 false ones did, as every injected event does): only the first two changed",
                "  anything (the bed, and the CuSum: both below).",
                "- Since, on the other draws only (seeds 2000-2004), each missed tachycardia's scores (nine in ten",
                "  over 0.97, under the no-motion line) and each acute false alarm's minutes around it (the spike",
                "  ones' spread before the jump): both led to changes (below).",
                "- Since, on the other draws (seeds 2000-2004, and 3000-3004 as a check), each night's resting-rate",
                "  standard score around each injected drift and on untouched nights, and which statistics of the",
                "  last nights separate them: that led to the rise (below).",
                "- Since, on the other draws (seeds 2000-2004), each tachycardia alarm the no-motion line held back",
                "  (lifted, it added 210 true and 305 false ones): the heart rate at the alarm against the median of",
                "  the half hour before it (the true ones rose 34 bpm or more for 9 in 10, the false ones 15 at the",
                "  median) and the spread of that half hour (2.3 bpm at the median against 4.6): that led to the",
                "  rise from rest (below).",
                "- Since, on the other draws (seeds 2000-2004) and the check draws (3000-3004), each missed",
                "  tachycardia's minutes (its scores, its line, whether it rose from rest): most of those the",
                "  no-motion line held back were seen rising from rest in one minute only, which led to carrying",
                "  it through the run (below); so the check draws are not a blind check of that change.",
                "- Since, on the other draws (seeds 2000-2004), each missed drift's rise night by night and the",
                "  reports before its onset: 5 of the 13 missed were held by a report on the person's own raised",
                "  nights, which led to reporting the rise again sooner (below).",
                "- Since, on the other draws (seeds 2000-2004) and the check draws (3000-3004), each missed",
                "  tachycardia's model score before and after the gate: 13 of the 28 were scored over the line",
                "  and held to 0 by the gate (85-100 bpm, under 4 standard deviations over the usual), which",
                "  led to giving that score back to a racing heart that rose from rest (below).",
                "",
            ]
            history = [
                "The bed since this checkpoint was first reported: until then it was one draw, so its 12 drifts",
                "moved drift recall by 0.08 each, and two of them could not be caught by anything: one was injected",
                "into 24 days without data, one onto a wearer back for 4 days from 5 weeks without the watch (no",
                "normal to drift from). A drift is now injected only where the watch was worn on its first 3 days",
                "and on 14 of the 28 days before (the day drawn if it qualifies, else the nearest that does), and",
                "each person's drift and each day's acute event come from their own random stream. With the same",
                "checkpoint, one draw of the old bed gave all-acute 0.90 / 0.100 and drift 0.50 / 0.78; one draw of",
                "this bed 0.91 / 0.083 and 0.33 / 0.43 (seed 1002) or 0.90 / 0.100 and 0.42 / 0.70 (seed 1001).",
                "One draw's drift recall is a coin with 12 tosses; read the pooled figures above. The history",
                "that follows quotes one-draw figures of the old bed.",
                "",
                "On this pooled bed the comparison CuSum caught more drifts than the shipped detector (0.58 / 0.54",
                "false alarms per wearer-month against 0.42 / 0.58). Its drifts change the resting rate alone (no",
                "HRV, steps as usual), and the drift head, trained where an illness also lowers HRV and steps,",
                "scores most of them under its line (28 of 33 misses on other draws). The shipped detector now runs a",
                "CuSum on nightly resting heart rate beside the head (the textbook form the comparison uses: the",
                "4 weeks before, slack 0.5, interval 4; reset when it reports, and never twice in 10 days). Chosen on other",
                "draws into the same people (seeds 2000-2004: 0.45 / 0.53 -> 0.57 / 0.74), so not blind here,",
                "and on the synthetic development bed (0.88 / 0.06 -> 0.90 / 0.13; acute unchanged). Here: drift",
                "0.42 / 0.58 -> 0.57 / 0.81; the synthetic test bed 0.95 / 0.04 -> 1.00 / 0.18. Since, the sum",
                "starts again after more than 3 days without a judged night (the watch off), as a run of nights does:",
                "here 0.57 / 0.81 -> 0.57 / 0.79; the synthetic test bed did not move. Other forms tried",
                "on those draws: the old baselines-only CuSum's (a robust scale, the nights from 35 to 5 days",
                "before, interval 5) 0.38 / 0.95; a median centre 0.62 / 0.88; the same without the 10 quiet days",
                "0.55 / 0.65, but it reported a drift that went on every few nights; never reset 0.50 / 0.77.",
                "",
                "PulseNet 1.2 (minutes since the last step as an input, no clock, a strict no-motion tachycardia",
                "threshold only while the wearer could be cycling, relative tachycardia from 85 bpm, noon-to-noon",
                "days, a corrected generator) was chosen on the development bed. Here, 1.1 -> 1.2: tachycardia recall",
                "0.63 -> 0.70, all-acute 0.88 / 0.112 -> 0.90 / 0.112 false alarms, drift recall 0.67 -> 0.25.",
                "",
                "PulseNet 1.3 changed the synthetic generator and the drift alarm, each chosen on the synthetic",
                "development bed (seeds 4242 and 4343, 80 wearers, 40 drifts):",
                "- A night's resting heart rate now varies from one night to the next as much as an ECG study of",
                "  daily life measured (5 +/- 3 % of it; here 4.5 %, 2.7 bpm at 60). It varied by 0.8 bpm, measured from",
                "  PMData, whose daily resting heart rate is Fitbit's estimate, smoothed over days.",
                "- An illness cuts a day's steps by 0-50 % (it was always 45 %), and one person's daily steps vary",
                "  more (by about half, an assumption; it was about a third). The drift head leant on falling steps.",
                "- A night without data (the watch on its charger) neither breaks a run of nights nor adds to it.",
                "- A night far over the drift line is reported at once; one just over it still waits for the next.",
                "On the development bed, 1.2 -> 1.3: drift recall 0.72 -> 0.88 and false alarms 0.49 -> 0.06 per",
                "wearer-month (1.2 had been trained on nights that were too steady); all-acute 0.94 / 0.074 ->",
                "0.93 / 0.043. Retrained from seeds 8 and 9: drift 0.88 / 0.085 and 0.90 / 0.042.",
                "Here, 1.2 -> 1.3: drift recall 0.25 -> 0.50 (3 -> 6 of 12), drift false alarms 0.36 -> 0.78 per",
                "wearer-month (the people's own illnesses); tachycardia 0.70 / 0.055 -> 0.69 / 0.071; all-acute",
                "false alarms 0.112 -> 0.145. Retrained from seeds 8 and 9, all-acute false alarms are 0.140 and",
                "0.154: trained on realistic nights, the acute head raises more false alarms here, and this is not",
                "the draw. Where they come from was looked at after the choice: 9 of the 14 added are A0NVTRV's, one",
                "of the people with a real illness of their own (resting heart rate raised for days).",
                "",
                "Since then, with the same checkpoint, tachycardia and a sudden spike share one alarm: a racing heart",
                "that begins with a jump and stays up pages once. It paged twice, once per kind, and where it matched",
                "no injected event it counted as two false alarms. Episodes follow the same rule. The idea came from",
                "this bed's table; it is a product rule (one event, one page), checked first on the development bed",
                "(all-acute 0.93 / 0.043 -> 0.93 / 0.040). Here: all-acute false alarms 0.145 -> 0.126 (tachycardia",
                "0.071 -> 0.064, spike 0.069 -> 0.057), recall unchanged. Of the 53 false alarms left, 18 are",
                "A0NVTRV's (heart rate 100-112 at rest in days without a recorded step, during that person's own",
                "illness) and 14 AJ7TSV9's (nights at 150-165 bpm for over an hour, where the rule floor fires too).",
                "Tried after that listing and not kept: a spike needing a second minute over its line (development",
                "bed all-acute recall 0.931 -> 0.924, false alarms 0.040 -> 0.037; here 0.126 -> 0.119).",
                "",
                "That listing also found a data-quality gap: A0NVTRV's watch sent heart rate without steps for the",
                "last 7 days, and the detector took minutes without a step count for minutes still (days 'without",
                "a step', so a raised heart rate counted as at rest, at the usual threshold). A minute without a",
                "step count or a motion reading now says nothing about activity: tachycardia there needs the",
                "stricter no-motion threshold, and its explanation says the activity is unknown instead of 'at",
                "rest'. No synthetic watch drops its step count, so the synthetic beds do not change. Here: all-acute",
                "false alarms 0.126 -> 0.100, tachycardia 0.064 -> 0.038, recall unchanged. This was found on this",
                "bed, by looking at its false alarms, and fixes what it found: weigh it so. Since, such a minute",
                "also no longer teaches the wearer's per-hour normal once the watch has sent activity on 3 days",
                "(a week of workouts taken for rest would raise it); it still counts for the night's resting rate.",
                "No figure here moved (that week is the trace's last).",
                "",
                "Since, with the same checkpoint, two changes to when a score becomes an alarm, chosen on the other",
                "draws (seeds 2000-2004) and the synthetic development bed, and run here once, after the choice:",
                "- A sudden spike must jump from a steady rate: at least 6 times the spread of the minutes before",
                "  it (on the other draws, the spike false alarms' spread before the jump was 5 bpm at the median,",
                "  the injected spikes' under 3.5 for 9 in 10). Other draws: all-acute 0.881 / 0.102 -> 0.881 /",
                "  0.078; development bed 0.931 / 0.040 -> 0.930 / 0.039.",
                "- A model alarm needs two minutes in a row over its line, however high the score (one minute far",
                "  over it was enough), and for tachycardia while the wearer could be cycling the minute before",
                "  counts at the usual line: only the minute that fires must pass the no-motion one (both had to).",
                "  Nine in ten tachycardias the other draws missed had scored over 0.97 and failed a second minute",
                "  over 0.995. Other draws: 0.881 / 0.078 -> 0.896 / 0.061 (tachycardia 0.665 / 0.043 -> 0.718 /",
                "  0.041, spikes 0.962 / 0.028 -> 0.959 / 0.014); development bed 0.930 / 0.039 -> 0.936 / 0.039.",
                "  The second minute alone, tried before (above), cost recall; with the usual line for the minute",
                "  before, it does not.",
                "Here, both together: all-acute 0.88 / 0.109 -> 0.90 / 0.067 (now under the Apple-style rule's",
                "0.083), tachycardia 0.64 / 0.047 -> 0.71 / 0.046, spikes 0.98 / 0.054 -> 0.96 / 0.013; a spike is",
                "reported a minute later (median 0 -> 1 min).",
                "Tried on the other draws then and not kept: a third minute in a row for tachycardia (0.896 / 0.061",
                "-> 0.894 / 0.053, but tachycardia's median delay 3 -> 4 min); ignoring heart-rate scores while the",
                "reading jumps by 20 or 25 bpm from minute to minute 3 times in 15 minutes (false alarms 0.061 ->",
                "0.068 or 0.059: the gap it leaves in a run re-arms the alarm, which fires again); the no-motion line for 90 or",
                "120 minutes after a step instead of 180 (0.919 / 0.084 and 0.903 / 0.073: more of both); for",
                "drift, a CuSum interval of 3.5, 3, 2.5 or 2 instead of 4 (0.58 / 0.80, 0.65 / 0.80, 0.68 / 0.98,",
                "0.70 / 1.16 false alarms per wearer-month), and a day's resting rate from every minute 10 minutes",
                "after a step instead of the 10th percentile of resting minutes (no better at any interval).",
                "",
                "Drift: the CuSum beside the head became the rise in nightly resting heart rate (the last three",
                "nights' standard scores weighted 3:2:1 toward the latest, reported at 2.5). A CuSum with slack 0.5",
                "is built for a lasting step of about one standard deviation; an infection's resting rate ramps up",
                "over two or three nights, by two to four of them, and must be caught within 3 days, so the nights",
                "it has are few and rising. Chosen on the other draws (seeds 2000-2004), on its own (rules and",
                "baselines, no model): 0.50 / 0.48 -> 0.68 / 0.46 false alarms per wearer-month; shipped 0.57 / 0.74",
                "-> 0.72 / 0.74. Checked on draws 3000-3004: on its own 0.50 / 0.51 -> 0.75 / 0.48, shipped 0.68 /",
                "0.71 -> 0.87 / 0.65; synthetic development bed 0.90 / 0.13 -> 0.95 / 0.30. Here: 0.57 / 0.79 ->",
                "0.72 / 0.81, and on its own 0.48 / 0.56 -> 0.67 / 0.56; the synthetic test bed 1.00 / 0.18 ->",
                "1.00 / 0.26. Reported at 2.25 it caught 0.77 / 0.83 on the other draws, 0.85 / 0.76 on the check",
                "draws (not chosen: the same curve, nearer one false alarm a month); at 2.75, 0.68 / 0.65. Other",
                "forms tried there: equal weights for the three nights, two nights, the latest night alone, a 10",
                "or 14-day normal, a median and spread about it: none better on both sets of draws; re-arming",
                "after two quiet days instead of ten days (0.72 / 0.72, check draws 0.82 / 0.58). Of the 17",
                "drifts it still misses on the other draws, 8 come within 10 days of a drift reported on the",
                "person's own raised nights before the injected onset (which holds the alarm), 6 are reported",
                "half a day late (at the noon after the third night, 3.5 days after the onset), and 3 later or",
                "not at all.",
                "",
                "The targets table reads the false-alarm target day by day too (How it is measured, above): all",
                "untouched days pooled, ours are over 0.05 a wearer-day; on the few days the Apple-style rule",
                "raises false alarms ours are fewer than its, and on the others under 0.05. The pooled row is",
                "kept, and still reads no.",
                "",
                "Since, with the same checkpoint, the no-motion tachycardia line no longer applies to a minute",
                "whose rate rose all at once from the wearer's steady usual rate (at least 30 bpm over the median",
                "of the window's earlier minutes, their spread at most 5 bpm, their median at most one standard",
                "deviation over the usual). A racing heart that starts like that is not the start of a bike ride",
                "as a rule; a rate already raised and unsettled (an illness, stress) or climbing from walking is",
                "held to the line. Chosen on the other draws (seeds 2000-2004): tachycardia 0.718 / 0.041 ->",
                "0.955 / 0.052, median delay 3 -> 2 min, all-acute 0.896 / 0.061 -> 0.971 / 0.072. Checked on",
                "draws 3000-3004: tachycardia 0.763 / 0.048 -> 0.931 / 0.061, all-acute 0.909 / 0.065 -> 0.962 /",
                "0.078; synthetic development bed all-acute 0.936 / 0.039 -> 0.987 / 0.049 (tachycardia 0.746 ->",
                "0.956). Here, run once after the choice: tachycardia 0.711 / 0.046 -> 0.896 / 0.060, median",
                "delay 3 -> 2 min; all-acute 0.895 / 0.067 -> 0.955 / 0.081 (Apple-style 0.083); on the other",
                "untouched days, day by day, 0.040 -> 0.049. The synthetic test bed: all-acute 0.948 / 0.038 ->",
                "0.996 / 0.048. Tried on the other draws and not kept (all-acute recall / false alarms; before the",
                "limit on the usual was added): a rise of 25 or 35 bpm (0.972 / 0.084, 0.968 / 0.074, against",
                "0.972 / 0.078 at 30), a spread of 4 or 6 bpm (0.969 / 0.074, 0.972 / 0.078), and a line of 0.9 or",
                "0.97 for such minutes instead of the usual one (0.960 / 0.075, 0.927 / 0.070); then, a limit of",
                "half a standard deviation over the usual (0.962 / 0.067) or two (0.972 / 0.075). The false",
                "alarms it adds are a few real rises, each counted once per draw that leaves its day untouched: on",
                "the other draws and the check draws together, 15 rises of 30-80 bpm without a step in 7 people",
                "(6 of them A0NVTRV's, whose trace holds an illness; two of AJ7TSV9's climb from 70-75 to 150 bpm",
                "late in the evening).",
                "",
                "Since, with the same checkpoint, a night's resting heart rate is the mean of the day's lowest",
                "fifth of rest minutes instead of their 10th percentile: about the same level, steadier from night to",
                "night, so a drift's rise stands further out of the usual nights. Chosen on the other draws (seeds",
                "2000-2004): drift 0.717 / 0.743 -> 0.783 / 0.631 false alarms per wearer-month. Checked on draws",
                "3000-3004: 0.867 / 0.645 -> 0.850 / 0.549 (one drift fewer); synthetic development bed 0.950 /",
                "0.296 -> 0.950 / 0.232. Here, run once after the choice: 0.717 / 0.81 -> 0.733 / 0.72, and rules",
                "with baselines 0.67 / 0.56 -> 0.68 / 0.60; the synthetic test bed unchanged (1.00 / 0.26). Acute",
                "figures do not change. Tried on the other draws and not kept: the 20th or 30th percentile (0.667",
                "/ 0.659, 0.700 / 0.561), the mean of the lowest tenth (0.717 / 0.533), 15 % (0.800 / 0.589; check",
                "draws 0.850 / 0.590), a quarter (0.783 / 0.603; 0.817 / 0.549), 30 % (0.733 / 0.673) or 40 %",
                "(0.700 / 0.715): a fifth is the middle of the best of them. A wearer's nights saved before mix",
                "the two for their first 4 weeks: on the real traces the new one sits 0.4 bpm lower on average.",
                "",
                "Since, with the same checkpoint, a racing heart that rose from rest is judged so for as long as",
                "it stays over the usual line. The rise from rest compares a minute with the window's earlier",
                "minutes, so it is seen only in a racing heart's first three or four minutes, before the raised",
                "ones enter them; where the model scored the first of those minutes under its line (under 100",
                "bpm, or too near the usual, the gate holds the score to 0), the minutes left for two in a row",
                "were judged at the no-motion line. Chosen on the other draws (seeds 2000-2004): tachycardia",
                "0.955 / 0.052 -> 0.964 / 0.054, all-acute 0.971 / 0.072 -> 0.973 / 0.075. Check draws: tachycardia",
                "0.931 / 0.061 -> 0.952 / 0.062, all-acute 0.962 / 0.078 -> 0.969 / 0.080; synthetic development",
                "bed (seeds 4242, 4343) tachycardia 0.978 / 0.031 and 0.941 / 0.035 -> 1.000 / 0.034 and 0.963 /",
                "0.039. Here, run once after the choice: tachycardia 0.896 / 0.060 -> 0.931 / 0.062, all-acute",
                "0.955 / 0.081 -> 0.966 / 0.083 (Apple-style 0.083); on the other untouched days, day by day, 0.049",
                "-> 0.050, now just over the line; the synthetic test bed did not move. Tried on the other draws",
                "with it and not kept: a rise from rest only within half a standard deviation of the usual (0.966",
                "/ 0.069; check draws 0.960 / 0.075), fewer false alarms but less recall than before it.",
                "",
                "Since, with the same checkpoint, the rise in nightly resting heart rate is reported again within",
                "10 days of a report in two cases: the rate settled back near the usual (the rise under 1 for two",
                "nights) and rose again, a new drift; or the rise climbed 3 standard deviations over the one",
                "reported, the same drift worse. On the other draws (seeds 2000-2004), 5 of the 13 drifts missed",
                "came within 10 days of a report on the person's own raised nights: 2 after the rate had",
                "settled, 3 on top of a rise still going on. Chosen there: drift 0.783 / 0.631 -> 0.850 / 0.631",
                "false alarms per wearer-month (each rule alone 0.817 / 0.631). Check draws 0.850 / 0.549 and",
                "the synthetic development bed (1.00 / 0.18, 0.88 / 0.28) did not move. Here, run once after the",
                "choice: 0.733 / 0.72 -> 0.750 / 0.75 (one drift more), rules with baselines 0.68 / 0.60 -> 0.73 /",
                "0.65; the synthetic test bed's recall and false alarms did not move. Tried there and not",
                "kept: 2 or 2.5 standard deviations further (0.867 / 0.631 either, check draws 0.850 / 0.590 and",
                "0.850 / 0.577), settled under 0.5, or for one night (as chosen). Of the 9 still missed there, 2",
                "sit where the person's own rate fell as the drift began (in one, as far as it raised it; in the",
                "other, from an illness in the 4 weeks before), 1 on a rise still going on, and 6 rise too slowly",
                "to pass the line by the third night.",
                "",
                "Since, with the same checkpoint, a racing heart of 85-100 bpm that rose from rest counts: the",
                "gate holds a tachycardia score to 0 under 100 bpm unless the rate is 4 standard deviations over",
                "the usual, which an hour whose usual rate spreads wide (awake at rest, say 62 ± 10) seldom",
                "allows; a jump of 30 bpm or more from the wearer's steady usual rate to 85-100 now keeps the",
                "model's score for its run (the same rise from rest and its carry as above). Of the 28",
                "tachycardias missed on the other and check draws, the gate had held 13 whose model score was",
                "over the line. Chosen there: tachycardia 0.964 / 0.054 -> 0.982 / 0.054 (all-acute false alarms",
                "0.0748 either way); check draws 0.952 / 0.062 -> 0.976 / 0.063 (0.0796 -> 0.0801); synthetic",
                "development bed (seeds 4242, 4343) 1.000 / 0.034 and 0.963 / 0.039 -> 1.000 / 0.034 and 0.985 /",
                "0.039. Here, run once after the choice: tachycardia 0.931 / 0.062 -> 0.965 / 0.062, all-acute",
                "0.966 / 0.083 -> 0.977 / 0.083; one false alarm more (ATHKM6V's), so on the other untouched",
                "days 0.050 -> 0.051; the synthetic test bed did not move. From 90 bpm instead of 85: check",
                "draws 0.973. Tried with it and not kept: a rise from a rate up to 1.5 or 2 standard deviations",
                "over the usual (instead of 1): tachycardia 0.985 and 0.988, but all-acute false alarms 0.0748 ->",
                "0.0776 (check draws 0.0801 -> 0.0833). Of the 14 still missed on the other and check draws, 11",
                "rise from a rate already further over the usual, or unsteady (72-132 bpm in the half hour",
                "before; some in an illness), 2 land on an alarm opened minutes before, and 1 hovers at 85-87.",
                "",
                "Tried with the same checkpoint and not shipped: an evening check for drift. The rise judged",
                "at 9 pm with the day's resting rate from noon (against the 4 weeks of evenings before) in place",
                "of the night not yet come, so a drift ramping over three days is judged once more before its",
                "fourth night. On the other draws (seeds 2000-2004, 3000-3004, 5000-5004, 6000-6004) at a line",
                "of 3.0: drift 0.850 / 0.631 -> 0.867 / 0.757, 0.850 / 0.549 -> 0.867 / 0.728, 0.667 / 0.708",
                "-> 0.683 / 0.948, 0.850 / 0.605 -> 0.867 / 0.894 false alarms per wearer-month; at 3.5 about",
                "the same recall for a third of that cost, at 2.75 a drift more on two of them for more still.",
                "Counted outside the detector (the statistic alone, no alarm, on the same 240 drifts), evenings",
                "over 3.0 would add 12 drifts, at 0.73 evenings over it per wearer-month on untouched days; in",
                "the detector they added 4 (the alarm's rules, such as a report holding it for days, are not",
                "in that count; not looked into further). One drift in 60 for a quarter more false alarms: not",
                "shipped. Also tried on those draws and not kept (drift recall / false alarms, the four sets in",
                "that order; as shipped 0.850 / 0.631, 0.850 / 0.549, 0.667 / 0.708, 0.850 / 0.605): a line of",
                "2.25 (0.883 / 0.645, 0.850 / 0.700, 0.667 / 0.863, 0.833 / 0.784); the rate 'settled' under 2",
                "instead of 1 (0.850 / 0.645, 0.850 / 0.549, 0.683 / 0.708, 0.850 / 0.633); a night the drift",
                "head scores over its line reported at once when the rise is over 2 too (0.817 / 0.701, 0.867 /",
                "0.645, 0.700 / 0.792, 0.800 / 0.770); a night's standard score against the median and MAD of",
                "its 4 weeks (0.833 / 0.842, 0.733 / 0.879, 0.650 / 0.920, 0.850 / 0.784), or against them",
                "without their highest 15 % (0.883 / 0.954, 0.900 / 1.112, 0.650 / 1.316, 0.850 / 1.183). Over",
                "those four sets the shipped drift alarm catches 193 of 240 drifts (0.80); how much one set of 60",
                "moves on its own shows in them: 0.667 to 0.850.",
                "",
                "Also tried on those four sets and not kept: each night's spread floored at 3 bpm (as the",
                "per-hour baseline's) instead of 2, with the last two nights weighted 2:1. On the statistic",
                "alone (the highest of the three nights judged within 3 days, no alarm rules), at as many",
                "untouched nights over the line as now (4.4 %), it would catch 206 of the 240 drifts against",
                "196. In the detector, at a line of 2.0 or 2.1, it caught 191 or 188 (0.796, 0.783) at 0.79 or",
                "0.70 false alarms per wearer-month, against 193 at 0.62: a lower line reports more of the",
                "people's own raised nights before an onset, and each report holds the alarm. Reporting again",
                "when the rise climbs 1.5 or 2 (instead of 3) over the one reported: 194 either way; re-arming",
                "after 6 days instead of 10: 194 at 0.67. Leaving out of each night's 4 weeks the nights that",
                "stood 2 standard deviations or more over their own (an illness kept out of the usual): 203 of",
                "240 at 1.09 false alarms per wearer-month (over the target), 197 at 0.87 with a line of 3.0; at",
                "2.5 or 3 standard deviations, 196 at 0.97 and 195 at 0.84. Without the drift head (the rise",
                "alone): 189 at 0.55; with a line of 2.25 then, 194 at 0.68. 'How sure these figures are' and",
                "'Drifts per person' (above, added since) show how far a set of 60 drifts from 12 people moves",
                "on its own, and that most misses are three people's (on these four sets too: A0NVTRV 10 of 20,",
                "AS2MVDL 11, AJ7TSV9 12; the other nine 160 of 180), whose nights vary most; the first two carry",
                "an illness of their own in their traces (../shared/data/README.md).",
                "",
                "Also tried on those four sets and not kept: a night counted for the rise only when the watch",
                "read a heart rate for 12 or 16 hours of its day. On the real traces with nothing injected, a",
                "night from a day worn under 16 hours stood 2 standard deviations over its 4 weeks 9-21 % of the",
                "time, against 3-4 % for the others: its lowest rest minutes may miss the deep sleep. Left out,",
                "no better than shipped (193 at 0.62): 194 of 240 at 0.67 false alarms a wearer-month (12 hours), 176",
                "at 0.69 (16 hours: the drift's own nights are left out too), 177 at 0.71 with the drift head's",
                "nights left out as well (12 hours).",
                "",
                "How much these figures move on their own: with the anomalies injected from another seed (1001),",
                "1.3 with one high-heart-rate alarm scores tachycardia 0.72 / 0.053, all-acute 0.89 / 0.114 and",
                "drift 0.50, the same with the step-count change (that draw's drift covers the week without steps;",
                "with an alarm per kind 0.72 / 0.055 and 0.89 / 0.125; 1.2 scored 0.62 / 0.046 and 0.86 / 0.099).",
                "Drift has 12 events here, judged once a night at 0.5, 1.5 and 2.5 days after",
                "the onset, so one night's resting rate moves a drift in or out of the 3-day window.",
                "",
            ]
        else:
            out += [
                "## Held-out synthetic wearers",
                "",
                f"{len(bed)} wearers never seen in training, {sum(len(w.events) for w in bed)} injected events of every kind,",
                f"{untouched} untouched wearer-days. Not every synthetic watch reports every metric (as in life).",
                "",
            ]
            history = [
                "The generator was corrected for PulseNet 1.2. Until 1.1, a synthetic watch read SpO2 more often during",
                "an injected anomaly (90 % of minutes, against 40 %), so the density of SpO2 readings alone gave",
                "anomalies of every kind away, and 1.1's figures here were too good: on the corrected generator, 1.1",
                "raises 1.00 false alarms per wearer-day (HRV collapse 0.87). Now each watch reads SpO2 at its own",
                "rate. Benign raised heart rates (stress, coffee) are +5-20 bpm (they were +8-30, overlapping",
                "tachycardia's +35-70), and synthetic people now sit still for long spells awake, turn over in their",
                "sleep and slow down gradually when falling asleep. These figures are not comparable with 1.1's.",
                "",
                "For PulseNet 1.3, a synthetic person's resting heart rate varies from night to night as much as",
                "in life (about 4.5 % of it; it was 0.8 bpm), an illness cuts steps by 0-50 % (it was always 45 %)",
                "and daily steps vary more. On this bed, regenerated so, 1.2 scores all-acute 0.94 / 0.069 false",
                "alarms and drift 0.91 / 0.57 false alarms per wearer-month; these figures are not comparable with",
                "1.2's as reported before. Since 1.3 was first reported, a racing heart pages once (one alarm for",
                "tachycardia and a sudden spike, see the real traces below): all-acute false alarms here 0.043 ->",
                "0.038, recall unchanged. Since, a spike must jump from a steady rate, and a model alarm needs two",
                "minutes in a row (see the real traces): all-acute 0.94 / 0.038 -> 0.95 / 0.038, tachycardia",
                "0.75 / 0.015 -> 0.79 / 0.018 (median delay 1 -> 2 min), spike false alarms 0.004 -> 0.001.",
                "Since, the CuSum beside the drift head became the rise in nightly resting heart rate (see the",
                "real traces): drift 1.00 / 0.18 -> 1.00 / 0.26 false alarms per wearer-month.",
                "",
            ]
        out += ["### Targets (shipped detector)", "", *_targets(res, bed), ""]
        if name == "stanford":
            out += ["### How sure these figures are", "", *figures_with_intervals(res, bed), ""]
            out += ["### Acute false alarms per person", "", *_per_person(res), ""]
            out += ["### Drifts per person", "", *drifts_per_person(res), ""]
        out += ["### Ablation: what the model adds", "", *_ablation(res), ""]
        out += ["### Per kind and detector", "", markdown_table(res), ""]
        out += ["### How these figures came about", "", *history]
    return "\n".join(out) + "\n"
