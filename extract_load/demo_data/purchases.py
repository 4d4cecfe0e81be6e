"""A repeat-buying process for demo customers: they buy at individual rates and eventually churn.

Each customer draws a purchase rate ``lambda ~ Gamma(r, 1/alpha)`` (purchases per day) and a churn
probability ``p ~ Beta(a, b)`` applied after every purchase (the BG/NBD story), and a mean spend
``nu ~ Gamma(q, 1/gamma)`` with each purchase's spend ``~ Gamma(p_spend, 1/nu)`` (Gamma-Gamma), so the
customer-lifetime-value models downstream have repeat buyers with realistic heterogeneity to learn from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np


@dataclass(frozen=True)
class PurchaseProcess:
    """Population parameters of the repeat-buying and spend processes."""

    rate_shape: float = 0.6
    rate_scale_days: float = 1 / 18.0
    churn_a: float = 0.8
    churn_b: float = 4.0
    spend_shape: float = 4.0
    spend_mean_shape: float = 3.0
    spend_mean_scale: float = 12.0


@dataclass(frozen=True)
class Purchase:
    """One purchase of one customer."""

    user_id: int
    day: date
    total_cost: float


def simulate_purchases(
    seed: int,
    signups: dict[int, date],
    first_day: date,
    last_day: date,
    process: PurchaseProcess = PurchaseProcess(),
) -> list[Purchase]:
    """Purchases of every customer from signup (or ``first_day``) to ``last_day``, day resolution.

    Each customer has a random stream of its own (seeded by ``seed`` and its id), so a longer horizon only
    appends purchases: the purchases up to a day are the same whatever ``last_day`` is.
    """
    purchases: list[Purchase] = []
    for user_id in sorted(signups):
        rng = np.random.default_rng([seed, user_id])
        rate = rng.gamma(process.rate_shape, process.rate_scale_days)
        churn = rng.beta(process.churn_a, process.churn_b)
        mean_spend = rng.gamma(process.spend_mean_shape, process.spend_mean_scale)
        day = signups[user_id]
        while rate > 0:
            gap_days = int(rng.exponential(1 / rate))
            if gap_days > (last_day - day).days:
                break
            day = day + timedelta(days=gap_days)
            spend = rng.gamma(process.spend_shape, mean_spend / process.spend_shape)
            if day >= first_day:
                purchases.append(Purchase(user_id, day, round(max(spend, 0.5), 2)))
            if rng.random() < churn:
                break
    purchases.sort(key=lambda purchase: (purchase.day, purchase.user_id))
    return purchases
