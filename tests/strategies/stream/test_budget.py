"""The budget manager: hand-scripted spends, long-run share, window limit, parameters."""

import math

import numpy as np
import pytest

from labelloop.strategies.stream import BudgetManager, InvalidParameterError
from tests.strategies.stream.streams import as_marks, max_window_queries, window_cap


def run(manager: BudgetManager, wants: str) -> str:
    """Query each item that is wanted (``1`` in ``wants``) and allowed."""
    marks = []
    for want in wants:
        query = want == "1" and manager.allows()
        manager.record(query)
        marks.append(query)
    return as_marks(marks)


def test_hand_scripted_credit_paces_full_demand() -> None:
    # budget 0.5, window 4: credit starts at 1, caps at 2; a window holds 3 queries.
    # Credit left after items 0..4: .5 0 .5 0 .5; the first 12 items make 0.5 * 12 + 1.
    assert run(BudgetManager(budget=0.5, window=4), "1" * 12) == "QQ.Q.Q.Q.Q.Q"


def test_hand_scripted_window_refuses_though_credit_remains() -> None:
    # budget 0.5, window 8: credit caps at 4, at most 5 queries in any 8 decisions.
    # Six quiet items save credit 4; items 11-13 are refused by the window alone
    # (credit 1.5, 2 and 2.5), item 19 by both.
    manager = BudgetManager(budget=0.5, window=8)
    assert run(manager, "0" * 6 + "1" * 14) == "......QQQQQ...QQQQQ."
    assert (manager.n_seen_, manager.spent_, manager.window_spent_) == (20, 10, 5)
    assert manager.share_ == 0.5


def test_hand_scripted_demand_with_gaps() -> None:
    # budget 0.5, window 4: credit saved while item 0 passes buys items 1-3 in a row;
    # items 4 and 5 pass, saving for 6 and 7; items 8 and 10 find half a credit.
    assert run(BudgetManager(budget=0.5, window=4), "01110011111") == ".QQQ..QQ.Q."


def test_hand_scripted_fractional_budget() -> None:
    # budget 0.3, window 5: credit left after items 0..9: .3 .6 .9 .2 .5 .8 .1 .4 .7 0,
    # so 0.7 + 0.3, a float a hair under 1, must still buy item 9.
    assert run(BudgetManager(budget=0.3, window=5), "1" * 14) == "Q..Q..Q..Q...Q"


def test_window_of_one_is_paced_by_credit_alone() -> None:
    assert run(BudgetManager(budget=1.0, window=1), "1" * 5) == "QQQQQ"
    assert run(BudgetManager(budget=0.5, window=1), "1" * 6) == "Q.Q.Q."
    assert run(BudgetManager(budget=0.25, window=1), "1" * 9) == "Q...Q...Q"


@pytest.mark.parametrize(
    ("budget", "window"),
    [(0.1, 100), (0.01, 100), (0.07, 100), (0.3, 100), (0.15, 10), (0.033, 100), (0.1, 1000)],
)
def test_full_demand_spends_the_budget_and_never_more_per_window(
    budget: float, window: int
) -> None:
    manager = BudgetManager(budget=budget, window=window).reset()
    decisions = np.array([c == "Q" for c in run(manager, "1" * 10_000)])
    assert 0.95 * budget <= manager.share_ <= 1.05 * budget
    assert math.floor(budget * 10_000 + 1e-6) <= manager.spent_ <= budget * 10_000 + 1
    assert max_window_queries(decisions, window) <= window_cap(budget, window)
    assert window_cap(budget, window) / window <= budget + 1 / window + 1e-12


def test_scarce_demand_spends_what_it_asks_for() -> None:
    wants = np.random.default_rng(0).random(10_000) < 0.02
    manager = BudgetManager(budget=0.1, window=100)
    run(manager, "".join("1" if want else "0" for want in wants))
    assert manager.spent_ == int(wants.sum())


def test_forced_query_is_charged_and_paid_back() -> None:
    # budget 0.25, window 4: one query a window, credit capped at 1.
    manager = BudgetManager(budget=0.25, window=4)
    assert run(manager, "1") == "Q"
    assert not manager.allows()
    manager.record(True)  # a person asked for this one anyway
    assert manager.spent_ == 2
    assert manager.credit_ == pytest.approx(-0.75)
    # The window would allow a query from the third item on; credit needs seven.
    assert run(manager, "1" * 7) == "......Q"


def test_state_before_and_after_reset() -> None:
    manager = BudgetManager(budget=0.1, window=100)
    assert manager.allows()  # starts the stream on first use
    assert manager.share_ == 0.0
    first = run(manager, "1" * 300)
    assert manager.spent_ == first.count("Q")
    manager.reset()
    assert (manager.n_seen_, manager.spent_, manager.window_spent_) == (0, 0, 0)
    assert manager.credit_ == 1.0
    assert run(manager, "1" * 300) == first


def test_constructor_stores_parameters_unchanged() -> None:
    budget, window = object(), object()
    manager = BudgetManager(budget=budget, window=window)  # type: ignore[arg-type]
    assert manager.get_params() == {"budget": budget, "window": window}
    assert repr(BudgetManager(0.2, 50)) == "BudgetManager(budget=0.2, window=50)"


@pytest.mark.parametrize("budget", [0, 0.0, -0.1, 1.01, math.nan, math.inf, True, "0.1", None])
def test_budget_outside_zero_one_is_refused(budget: object) -> None:
    manager = BudgetManager(budget=budget)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match=r"budget must be .* in \(0\.0, 1\.0\]"):
        manager.reset()
    with pytest.raises(ValueError, match=r"budget=0\.1"):
        manager.allows()


@pytest.mark.parametrize("window", [0, -5, 1.5, 100.0, True, "100", None])
def test_window_below_one_or_not_integer_is_refused(window: object) -> None:
    with pytest.raises(InvalidParameterError, match="window must be an integer >= 1"):
        BudgetManager(window=window).reset()  # type: ignore[arg-type]


def test_numpy_scalars_are_accepted() -> None:
    manager = BudgetManager(budget=np.float32(0.5), window=np.int64(4))  # type: ignore[arg-type]
    assert run(manager.reset(), "1111") == "QQ.Q"
