"""The end of every quality benchmark: the chosen candidate against each bar (its best member,
the scikit-learn references), the paired comparison with the best member where scores.json
has one, and the exit status (1 unless every bar is beaten)."""

from __future__ import annotations

from typing import Any

from podium.ensemble.significance import PairedComparison


def verdict(
    scores: dict[str, Any], bars: dict[str, float], metric: str, higher: bool, note: str
) -> int:
    """Print the chosen candidate (`scores['cv']`) against each bar; 0 when it beats all."""
    chosen, ok = scores["cv"], True
    for what, bar in bars.items():
        beats = chosen > bar if higher else chosen < bar
        sign = (">" if higher else "<") if beats else ("<=" if higher else ">=")
        print(f"  vs {what:<44} {metric} {chosen:.4f} {sign} {bar:.4f}")
        ok &= beats
    if "vs_best_member" in scores:
        vs = scores["vs_best_member"]
        print("  paired: " + PairedComparison.from_json(vs).summary(scores["chosen"], vs["member"]))
    print(
        f"quality: chosen {scores['chosen']} {'BEATS' if ok else 'does NOT beat'} every bar on "
        f"{metric} ({note})"
    )
    return 0 if ok else 1
